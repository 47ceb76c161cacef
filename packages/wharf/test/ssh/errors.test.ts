import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { SshDropError, SshError, classifySshError, sshFailure } from '../../src/ssh/errors.js';
import { HostKeyError } from '../../src/ssh/host-keys.js';
import { SshConnectError, SshPool } from '../../src/ssh/pool.js';
import { SshConfig } from '../../src/ssh/ssh-config.js';

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

function leveled(level: string, message: string): Error {
  return Object.assign(new Error(message), { level });
}

describe('classifySshError', () => {
  const cases: [unknown, string][] = [
    [errno('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:22'), 'refused'],
    [errno('ETIMEDOUT'), 'timeout'],
    [leveled('client-timeout', 'Timed out while waiting for handshake'), 'timeout'],
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND web.invalid'), 'dns'],
    [errno('EAI_AGAIN'), 'dns'],
    [errno('EHOSTUNREACH'), 'unreachable'],
    [errno('ENETUNREACH'), 'unreachable'],
    [leveled('client-authentication', 'All configured authentication methods failed'), 'auth'],
    [new HostKeyError('x', 'it changed.', 'x', 'SHA256:abc'), 'host-key'],
    [errno('ECONNRESET', 'read ECONNRESET'), 'dropped'],
    [new Error('Connection lost before handshake'), 'dropped'],
    [new Error('No response from server'), 'dropped'],
    [new SshDropError('channel closed without an exit status'), 'dropped'],
    [new SshDropError('no exit within 5 ms', 'command-timeout'), 'command-timeout'],
    [leveled('handshake', 'Handshake failed: no matching key exchange algorithm'), 'handshake'],
    [new Error('something else entirely'), 'unknown'],
  ];
  for (const [error, kind] of cases) {
    test(`${(error as Error).message} → ${kind}`, () => assert.equal(classifySshError(error), kind));
  }
});

describe('sshFailure sentences', () => {
  const context = { host: 'web-1', port: 22, user: 'root', step: 'pull the app image' };

  function check(
    error: unknown,
    extra: Partial<typeof context & { command: string; timeoutMs: number; via: string }>,
    pattern: RegExp,
  ) {
    const failure = sshFailure(error, { ...context, ...extra });
    assert.ok(failure instanceof SshError);
    assert.match(failure.message, pattern);
    assert.ok(failure.message.includes('web-1'), 'names the host');
    assert.ok(
      failure.message.includes('pull the app image') || failure.kind === 'host-key',
      'names the step',
    );
    assert.equal(failure.message.trim().split(/\.\s+[A-Z]/).length, 1, `one sentence: ${failure.message}`);
    assert.match(failure.message, /[.]$/);
    return failure;
  }

  test('refused, timeout, dns, unreachable, auth, handshake, unknown', () => {
    check(errno('ECONNREFUSED'), {}, /connection was refused; check that sshd runs there/);
    check(leveled('client-timeout', 'x'), { timeoutMs: 5000 }, /no answer within 5 s/);
    check(errno('ENOTFOUND'), {}, /host name does not resolve/);
    check(errno('EHOSTUNREACH'), { via: 'root@bastion' }, /web-1 \(via root@bastion\).*no route/);
    check(
      leveled('client-authentication', 'x'),
      { user: 'app' },
      /SSH login as app on web-1 was refused.*~app\/\.ssh\/authorized_keys/,
    );
    check(leveled('handshake', 'no matching cipher'), {}, /handshake with web-1 failed.*no matching cipher/);
    check(
      new Error('weird.'),
      { port: 2222 },
      /SSH to web-1:2222 failed during pull the app image \(weird\)\./,
    );
  });

  test('a dropped connection names the command that was running', () => {
    const f = check(
      new SshDropError('gone'),
      { command: 'docker pull registry/app:abc' },
      /dropped during pull the app image while running `docker pull registry\/app:abc`/,
    );
    assert.equal(f.kind, 'dropped');
  });

  test('a command timeout says how long', () => {
    check(
      new SshDropError('x', 'command-timeout'),
      { command: 'docker stop app', timeoutMs: 30_000 },
      /`docker stop app` on web-1 did not finish within 30 s during pull the app image/,
    );
  });

  test('host key errors get the step (and route) added to their sentence', () => {
    const error = new HostKeyError('[web-1]:2222', 'it presented another key; fix it.', 'web-1', 'SHA256:x');
    assert.equal(error.message, 'Refusing to connect to [web-1]:2222: it presented another key; fix it.');
    const f = sshFailure(error, { ...context, via: 'root@bastion' });
    assert.equal(
      f.message,
      'Refusing to connect to [web-1]:2222 (via root@bastion) during pull the app image: it presented another key; fix it.',
    );
    assert.equal(f.kind, 'host-key');
  });

  test('a jump host names the target it was opened for', () => {
    const f = sshFailure(errno('ECONNREFUSED'), {
      host: 'bastion',
      port: 22,
      step: 'connect',
      jumpFor: 'web-1',
    });
    assert.match(f.message, /^Cannot connect to bastion \(the jump host for web-1\) during connect: /);
  });

  test('long commands are shortened', () => {
    const f = sshFailure(new SshDropError('x'), { ...context, command: `echo ${'a'.repeat(500)}` });
    assert.ok(f.message.length < 300);
  });
});

describe('SshPool failures against real local sockets', () => {
  const key = ssh2.utils.generateKeyPairSync('ed25519').private;
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
  });

  function listen(onSocket: (s: Socket) => void): Promise<number> {
    return new Promise((resolve) => {
      const server = createServer((socket) => {
        sockets.push(socket);
        onSocket(socket);
      });
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  }

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
  }

  function pool(port: number, extra: Partial<ConstructorParameters<typeof SshPool>[0]> = {}): SshPool {
    return new SshPool({
      settings: { port, keyData: [key], keysOnly: true, config: false },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [], recordFile: '/nonexistent-dir/never-written' },
      connectTimeoutMs: 400,
      ...extra,
    });
  }

  test('connection refused', async () => {
    const port = await closedPort();
    const p = pool(port);
    await assert.rejects(p.exec('127.0.0.1', ['true'], { step: 'check docker' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(error.kind, 'refused');
      assert.equal(
        error.message,
        `Cannot connect to 127.0.0.1:${port} during check docker: the connection was refused; check that sshd runs there and that ssh.port (${port}) is right.`,
      );
      return true;
    });
    assert.deepEqual(p.stats()['127.0.0.1'], { connections: 0, roundTrips: 0, connectMs: 0 });
    await p.close();
  });

  test('a server that accepts but never speaks times out', async () => {
    const port = await listen(() => undefined);
    const p = pool(port);
    const started = Date.now();
    await assert.rejects(p.connect(['127.0.0.1'], 'connect to servers'), (error: unknown) => {
      assert.ok(error instanceof SshConnectError);
      assert.equal(error.kind, 'timeout');
      assert.match(
        error.message,
        /^Cannot connect to 127\.0\.0\.1:\d+ during connect to servers: no answer within 0\.4 s;/,
      );
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    await p.close();
  });

  test('something that is not an SSH server', async () => {
    const port = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const p = pool(port);
    await assert.rejects(p.exec('127.0.0.1', 'true', { step: 'boot' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.match(
        error.message,
        /^Cannot connect to 127\.0\.0\.1:\d+ during boot: the server closed the connection before SSH was set up; check that port \d+ there is an SSH server/,
      );
      return true;
    });
    await p.close();
  });

  test('connect() waits for every host and reports each failure', async () => {
    const refused = await closedPort();
    const p = new SshPool({
      settings: { port: refused, keyData: [key], keysOnly: true, config: false },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [], recordFile: '/nonexistent-dir/never-written' },
      connectTimeoutMs: 400,
    });
    await assert.rejects(p.connect(['127.0.0.1', '127.0.0.2', '127.0.0.3']), (error: unknown) => {
      assert.ok(error instanceof SshConnectError);
      assert.equal(error.failures.length, 3);
      assert.deepEqual(
        error.failures.map((f) => f.host),
        ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
      );
      assert.match(error.message, /^Cannot connect to 127\.0\.0\.1:/);
      return true;
    });
    await p.close();
  });

  test('at most max_concurrent_starts handshakes are in flight at once', async () => {
    let accepted = 0;
    let failed = 0;
    let peak = 0;
    const onSocket = (socket: Socket): void => {
      sockets.push(socket);
      accepted++;
      // Handshakes in flight = accepted and not yet given up by the client.
      peak = Math.max(peak, accepted - failed);
    };
    const port = await listen(onSocket);
    // 127.0.0.0/8 is all loopback: the same silent server on five addresses.
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const server = createServer(onSocket);
      servers.push(server);
      await new Promise<void>((r) => server.listen(port, address, () => r()));
    }
    const p = new SshPool({
      settings: { port, keyData: [key], keysOnly: true, config: false, maxConcurrentStarts: 2 },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [], recordFile: '/nonexistent-dir/never-written' },
      connectTimeoutMs: 250,
    });
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const results = await Promise.allSettled(
      hosts.map((h) =>
        p.connection(h).catch((error: unknown) => {
          failed++;
          throw error;
        }),
      ),
    );
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(accepted, 5);
    assert.equal(peak, 2);
    await p.close();
  });

  test('close() gives up handshakes in progress at once', async () => {
    const port = await listen((socket) => socket.resume());
    const p = pool(port, { connectTimeoutMs: 30_000 });
    const connecting = p.connect(['127.0.0.1'], 'connect to servers');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await p.close();
    await assert.rejects(
      connecting,
      /^SshConnectError: The SSH pool was closed while connecting to 127\.0\.0\.1 during connect to servers\.$/,
    );
    assert.ok(Date.now() - started < 5000);
  });

  test('no usable key is one sentence naming the keys tried', async () => {
    const p = new SshPool({
      settings: { keys: ['/nonexistent/id_ed25519'], keyData: ['not a key'], keysOnly: true, config: false },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [], recordFile: '/nonexistent-dir/never-written' },
    });
    await assert.rejects(p.exec('web-9', 'true'), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(
        error.message,
        'No usable SSH private key to log in as root on web-9 (/nonexistent/id_ed25519 (missing), ssh.key_data[0] (not a private key)); set ssh.keys or ssh.key_data, or start ssh-agent with your key loaded.',
      );
      assert.ok(!error.message.includes('not a key'));
      return true;
    });
    await p.close();
  });
});
