import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contextDigest } from '../../../src/deploy/proxy-image.js';

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-ctx-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("the proxy image's source digest follows the staged files: same files same digest, any change a new one", () => {
  const files = { Dockerfile: 'FROM x\n', 'app/package.json': '{}', 'app/dist/src/bin.js': 'run()' };
  const a = contextDigest(context(files));
  assert.match(a, /^[0-9a-f]{24}$/);
  // Written in another order, same digest.
  const reversed = Object.fromEntries(Object.entries(files).reverse());
  assert.equal(contextDigest(context(reversed)), a);
  // A changed byte, a moved file or an added file: a new digest (so a stale local image is rebuilt).
  assert.notEqual(contextDigest(context({ ...files, 'app/dist/src/bin.js': 'run();' })), a);
  const { ['app/dist/src/bin.js']: bin, ...rest } = files;
  assert.notEqual(contextDigest(context({ ...rest, 'app/dist/bin.js': bin })), a);
  assert.notEqual(contextDigest(context({ ...files, 'app/dist/src/extra.js': '' })), a);
});
