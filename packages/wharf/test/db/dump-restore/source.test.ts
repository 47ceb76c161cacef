/** A local archive is read and judged before anything on a server changes. */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Remote } from '../../../src/deploy/remote.js';
import type { Context } from '../../../src/runtime/context.js';
import { localDumpFacts, localSource } from '../../../src/db/dump-restore/source.js';
import { UserError } from '../../../src/util/errors.js';
import { FIXTURES, sample } from './support.js';

// Neither is used until the dump is brought to a server.
const noCtx = {} as Context;
const noRemote = {} as Remote;

test('a local archive: its TOC and the data block sizes, read from the file', async () => {
  const facts = await localDumpFacts(`${FIXTURES}sample.dump`);
  assert.equal(facts.bytes, sample().length);
  assert.equal(facts.toc.entries.length, 55);
  const events = facts.toc.entries.find((e) => e.desc === 'TABLE DATA' && e.tag === 'events')!;
  assert.ok(facts.sizes.get(events.id)! > 20_000);
  assert.match(facts.sizeSource, /compressed/);
});

test('a missing file, a plain SQL dump and a truncated archive are refused naming the file', async () => {
  await assert.rejects(
    localDumpFacts('/nonexistent/prod.dump'),
    (e: unknown) =>
      e instanceof UserError && /^--dump \/nonexistent\/prod\.dump: no such file/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), 'wharf-dump-'));
  writeFileSync(join(dir, 'plain.sql'), '--\n-- PostgreSQL database dump\n--\nSELECT 1;\n');
  await assert.rejects(
    localDumpFacts(join(dir, 'plain.sql')),
    (e: unknown) =>
      e instanceof UserError && /plain\.sql is not a pg_dump custom-format archive/.test(e.message),
  );
  writeFileSync(join(dir, 'cut.dump'), sample().subarray(0, 4000));
  await assert.rejects(
    localDumpFacts(join(dir, 'cut.dump')),
    (e: unknown) =>
      e instanceof UserError &&
      /cut\.dump ends inside its table of contents; the dump is incomplete/.test(e.message),
  );
});

test('an archive written to a pipe needs --defer (no sizes to decide with)', async () => {
  await assert.rejects(
    localSource(noCtx, noRemote, `${FIXTURES}piped.dump`, false),
    (e: unknown) =>
      e instanceof UserError && /piped\.dump has no data offsets .* --defer TABLE,TABLE/.test(e.message),
  );
  const withList = await localSource(noCtx, noRemote, `${FIXTURES}piped.dump`, true);
  assert.equal(withList.verb, 'uploaded');
});
