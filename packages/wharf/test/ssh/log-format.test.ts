import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSshLogEvent } from '../../src/ssh/log-format.js';

test('-v lines for each SSH log event', () => {
  assert.equal(
    formatSshLogEvent({
      type: 'connect',
      host: 'web-1',
      user: 'root',
      port: 22,
      ms: 120,
      hostKey: 'recorded',
      via: 'root@bastion',
    }),
    '[web-1] connected as root via root@bastion in 120 ms (new host key recorded)',
  );
  assert.equal(
    formatSshLogEvent({ type: 'connect', host: 'web-1', user: 'app', port: 2222, ms: 5, hostKey: 'known' }),
    '[web-1] connected as app port 2222 in 5 ms',
  );
  assert.equal(
    formatSshLogEvent({
      type: 'exec',
      host: 'web-1',
      id: 7,
      step: 'boot app',
      command: 'docker run --name app [REDACTED]',
      env: ['TOKEN'],
    }),
    '[web-1] #7 boot app: (env TOKEN) $ docker run --name app [REDACTED]',
  );
  assert.equal(
    formatSshLogEvent({ type: 'exit', host: 'web-1', id: 7, code: 0, ms: 33 }),
    '[web-1] #7 exit 0 after 33 ms',
  );
  assert.equal(
    formatSshLogEvent({ type: 'upload', host: 'web-1', id: 8, path: '.kamal/env', bytes: 12, mode: '0600' }),
    '[web-1] #8 upload .kamal/env (12 bytes, mode 0600)',
  );
  assert.equal(
    formatSshLogEvent({ type: 'forward', host: 'web-1', remote: 'localhost:5000', local: '127.0.0.1:5000' }),
    '[web-1] forwarding localhost:5000 on the server to 127.0.0.1:5000 here',
  );
  assert.equal(formatSshLogEvent({ type: 'close', host: 'web-1' }), '[web-1] connection closed');
});
