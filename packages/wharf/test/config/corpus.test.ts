import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listCases, runCase } from './support/corpus.js';

const cases = listCases();

test('the corpus has at least 40 configurations', () => {
  assert.ok(new Set(cases.map((c) => c.fixture)).size >= 40, `only ${cases.length} cases`);
});

for (const c of cases) {
  test(`fixture ${c.fixture} (${c.spec.name}) is ${c.spec.expect}`, async () => {
    const result = await runCase(c);
    if (c.spec.expect === 'resolved') {
      assert.equal(result.kind, 'resolved', result.kind === 'errors' ? result.text : '');
      assert.deepEqual(
        result.kind === 'resolved' ? result.value : undefined,
        JSON.parse(readFileSync(c.expectedFile, 'utf8')),
      );
    } else {
      assert.equal(result.kind, 'errors', 'the config was accepted but should be rejected');
      assert.equal(result.kind === 'errors' ? result.text : '', readFileSync(c.expectedFile, 'utf8'));
    }
  });
}
