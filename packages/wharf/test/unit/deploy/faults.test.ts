/**
 * The pure parts of wharf's fault handling: reading wharf-proxy's target from
 * `kamal-proxy list`, choosing stale containers without ever picking the one
 * the proxy serves, and the one sentence for a dropped SSH connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainDeployFailure, staleContainers } from '../../../src/deploy/deploy.js';
import { connectionDrop } from '../../../src/deploy/remote.js';
import { SshError, sshFailure } from '../../../src/ssh/errors.js';
import { UserError } from '../../../src/util/errors.js';

const RUNNING = [{ name: 'hello-web-bbbb' }, { name: 'hello-web-aaaa' }, { name: 'other-web-cccc' }];

test('staleContainers: every running container of the role but Kamal current version', () => {
  assert.deepEqual(staleContainers(RUNNING, 'hello-web', 'aaaa'), ['bbbb']);
  // Renamed containers keep their suffix as the version, as Kamal's name stripping does.
  assert.deepEqual(
    staleContainers(
      [{ name: 'hello-web-bbbb_replaced_0123456789abcdef' }, { name: 'hello-web-aaaa' }],
      'hello-web',
      'aaaa',
    ),
    ['bbbb_replaced_0123456789abcdef'],
  );
  // Without a current version every running container of the role is stale.
  assert.deepEqual(staleContainers(RUNNING, 'hello-web', ''), ['bbbb', 'aaaa']);
  assert.deepEqual(staleContainers([], 'hello-web', ''), []);
});

test('a dropped connection anywhere in the cause chain becomes one sentence naming the host and step', () => {
  const drop = sshFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), {
    host: '10.0.0.2',
    step: 'hand hello-web-abc to wharf-proxy',
    command: 'docker exec kamal-proxy kamal-proxy deploy hello-web',
  });
  assert.equal(drop.kind, 'dropped');
  assert.equal(drop.step, 'hand hello-web-abc to wharf-proxy');
  const wrapped = new UserError('The new version abc of web on 10.0.0.2 never became healthy.', {
    cause: new UserError('outer', { cause: drop }),
  });
  assert.equal(connectionDrop(wrapped), drop);
  const explained = explainDeployFailure(wrapped) as Error;
  assert.ok(explained instanceof UserError);
  assert.equal(
    explained.message,
    'The SSH connection to 10.0.0.2 dropped during hand hello-web-abc to wharf-proxy, so wharf ran nothing more on 10.0.0.2 and the version wharf-proxy serves there keeps serving; check that 10.0.0.2 is reachable over SSH and run `wharf deploy` again.',
  );
  assert.match((explainDeployFailure(drop, 'rollback') as Error).message, /run `wharf rollback` again\.$/);
});

test('other failures pass through unchanged', () => {
  const refused = new SshError('Cannot connect to h during connect: refused.', 'refused', 'h');
  assert.equal(explainDeployFailure(refused), refused);
  const plain = new UserError('The deploy lock on h is held.');
  assert.equal(explainDeployFailure(plain), plain);
  assert.equal(connectionDrop(new Error('x')), undefined);
  // A server that hangs up during the SSH handshake keeps its own "Cannot connect" sentence.
  const hangUp = sshFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), {
    host: 'h',
    step: 'connect',
    connecting: true,
  });
  assert.match(hangUp.message, /^Cannot connect to h during connect/);
  assert.equal(explainDeployFailure(hangUp), hangUp);
});
