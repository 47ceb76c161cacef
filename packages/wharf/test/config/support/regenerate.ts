/**
 * Rewrites the expected results of the fixture corpus from the current code.
 * Run by hand after a deliberate change (`node dist/test/config/support/regenerate.js`)
 * and review the diff: the expected files are the specification.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { listCases, runCase } from './corpus.js';

for (const c of listCases()) {
  const result = await runCase(c);
  mkdirSync(dirname(c.expectedFile), { recursive: true });
  if (result.kind !== c.spec.expect)
    console.error(
      `!! ${c.fixture}/${c.spec.name}: expected ${c.spec.expect}, got ${result.kind}${result.kind === 'errors' ? `:\n${result.text}` : ''}`,
    );
  writeFileSync(
    c.expectedFile.replace(/\.(json|txt)$/, result.kind === 'resolved' ? '.json' : '.txt'),
    result.kind === 'resolved' ? `${JSON.stringify(result.value, null, 2)}\n` : result.text,
  );
}
console.log('regenerated');
