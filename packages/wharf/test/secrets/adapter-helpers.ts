import assert from 'node:assert/strict';
import { fetchSecrets, type FetchRequest } from '../../src/secrets/commands.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { type FakeWorld, quietRunner } from './support.js';

/** Runs `secrets fetch` against the fake CLIs, returning the result as a plain object. */
export function fetchWith(
  w: FakeWorld,
  request: FetchRequest,
  redactor = new Redactor(),
): Record<string, string> {
  return Object.fromEntries(fetchSecrets(request, { env: w.env, cwd: w.dir, runner: quietRunner, redactor }));
}

/** Asserts that fetching fails with a UserError matching `pattern`. */
export function fetchFails(w: FakeWorld, request: FetchRequest, pattern: RegExp | string): void {
  assert.throws(
    () => fetchSecrets(request, { env: w.env, cwd: w.dir, runner: quietRunner }),
    (error: Error) => {
      assert.equal(error.name, 'UserError', error.stack);
      if (typeof pattern === 'string') assert.equal(error.message, pattern);
      else assert.match(error.message, pattern);
      return true;
    },
  );
}
