import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Reporter } from '../../src/runtime/reporter.js';

/** A stream whose reader has gone away: every write fails with EPIPE, as a closed pipe does. */
function closedPipe(): Writable & { attempts: number } {
  const stream = new Writable({
    write(_chunk, _encoding, callback) {
      stream.attempts += 1;
      const error = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      callback(error);
    },
  }) as Writable & { attempts: number };
  stream.attempts = 0;
  return stream;
}

test('a reader that goes away stops the event stream without crashing the command', async () => {
  const out = closedPipe();
  const reporter = new Reporter('json', { out, err: new Writable({ write: (_c, _e, cb) => cb() }) });
  reporter.emit('deploy_start', { version: 'abc' });
  await new Promise((resolve) => setImmediate(resolve));
  // Later events are dropped rather than thrown or written again.
  reporter.emit('deploy_step', { host: '10.0.0.1' });
  reporter.emit('deploy_end', { ok: true });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(out.attempts, 1);
});

test('an error other than a gone reader still surfaces', () => {
  const out = new Writable({ write: (_c, _e, cb) => cb() });
  new Reporter('json', { out });
  assert.throws(
    () => out.emit('error', Object.assign(new Error('disk full'), { code: 'ENOSPC' })),
    /disk full/,
  );
});
