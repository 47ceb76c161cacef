/**
 * End-to-end: wharf's SSH layer against the local fleet's real sshd servers
 * (fleet `sshtest`, registry port 5621). Later tests change servers (new
 * host keys, restarts, a stopped server), so they run last and the fleet is
 * taken down afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import ssh2 from 'ssh2';
import { SshError } from '../../src/ssh/errors.js';
import { keyFingerprint } from '../../src/ssh/known-hosts.js';
import { SshPool, type SshLogEvent, type SshPoolOptions } from '../../src/ssh/pool.js';
import { SshConfig } from '../../src/ssh/ssh-config.js';
import { dockerEnv, fleetUp, type TestFleet } from '../support/fleet.js';

function docker(fleet: TestFleet, args: string[]) {
  const result = spawnSync('docker', args, { env: dockerEnv(fleet), encoding: 'utf8', timeout: 120_000 });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

describe('SSH layer on the local fleet', () => {
  let fleet: TestFleet;
  let hosts: string[];
  let names: string[];
  let dir: string;
  let record: string;
  const pools: SshPool[] = [];

  function pool(extra: Partial<SshPoolOptions> = {}, settings: SshPoolOptions['settings'] = {}): SshPool {
    const p = new SshPool({
      settings: { keys: [fleet.ssh_key], keysOnly: true, config: false, ...settings },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [], recordFile: record },
      connectTimeoutMs: 10_000,
      ...extra,
    });
    pools.push(p);
    return p;
  }

  /** Waits until sshd on `host` completes a login again (after a restart). */
  async function waitForSshd(host: string, options: Partial<SshPoolOptions> = {}): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const probe = pool({ connectTimeoutMs: 2000, ...options });
      try {
        await probe.connect([host]);
        await probe.close();
        return;
      } catch (error) {
        await probe.close();
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  before(() => {
    try {
      fleet = fleetUp('sshtest', 3, 5621);
    } catch {
      // `fleet up` has been seen to exit 0 without printing (reported); asking again reports the fleet.
      fleet = fleetUp('sshtest', 3, 5621);
    }
    hosts = fleet.servers.map((s) => s.address);
    names = fleet.servers.map((s) => s.name);
    dir = mkdtempSync(join(tmpdir(), 'wharf-ssh-e2e-'));
    record = join(dir, 'known_hosts');
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
    fleet?.down();
  });

  test('opens one connection per server in parallel and records their host keys on first use', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({ log: (e) => events.push(e) });
    await p.connect(hosts);
    const connects = events.filter(
      (e): e is Extract<SshLogEvent, { type: 'connect' }> => e.type === 'connect',
    );
    assert.deepEqual(connects.map((e) => e.host).sort(), [...hosts].sort());
    assert.ok(connects.every((e) => e.hostKey === 'recorded'));
    for (const host of hosts) assert.equal(p.stats()[host]!.connections, 1);

    // The recorded keys are the ones the fleet saw with its own probe.
    const recorded = readFileSync(record, 'utf8').trim().split('\n').sort();
    const fleetKnown = readFileSync(fleet.known_hosts, 'utf8').trim().split('\n').sort();
    assert.deepEqual(recorded, fleetKnown);

    // Connecting again (a new wharf run) finds them known and records nothing more.
    const again: SshLogEvent[] = [];
    const q = pool({ log: (e) => again.push(e) });
    await q.connect(hosts);
    assert.ok(
      again.filter((e) => e.type === 'connect').every((e) => e.type === 'connect' && e.hostKey === 'known'),
    );
    assert.equal(readFileSync(record, 'utf8').trim().split('\n').length, 3);
    await q.close();

    // The user's own known_hosts (here the fleet's) counts as known too.
    const r = pool({ hostKeys: { files: [fleet.known_hosts], recordFile: join(dir, 'unused_known_hosts') } });
    await r.connect(hosts);
    assert.throws(() => readFileSync(join(dir, 'unused_known_hosts')));
    await r.close();
  });

  test('exec returns exit code, stdout and stderr; argv is quoted and runs exactly', async () => {
    const p = pool();
    const args = ['it\'s "quoted"', '$HOME', 'a;b', '', 'new\nline'];
    const result = await p.exec(hosts[0]!, ['printf', '%s|', ...args]);
    assert.deepEqual(result, { code: 0, stdout: args.map((a) => `${a}|`).join(''), stderr: '' });
    const failing = await p.exec(hosts[0]!, 'echo out; echo err >&2; exit 3');
    assert.deepEqual(failing, { code: 3, stdout: 'out\n', stderr: 'err\n' });
    await assert.rejects(
      p.run(hosts[0]!, ['sh', '-c', 'echo nope >&2; exit 4'], { step: 'check' }),
      /`sh -c 'echo nope >&2; exit 4'` failed on 172\.\S+ during check with exit code 4: nope\./,
    );
    assert.equal(p.stats()[hosts[0]!]!.roundTrips, 3);
    assert.equal(p.stats()[hosts[0]!]!.connections, 1);
  });

  test('a batch runs several commands in one round trip with a result each', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({ log: (e) => events.push(e) });
    const host = hosts[0]!;
    await p.connect([host]);
    const results = await p.execBatch(
      host,
      [
        ['docker', 'info', '--format', '{{.ServerVersion}}'],
        'echo "$GREETING"; echo warn >&2',
        ['sh', '-c', 'exit 5'],
        ['echo', 'skipped'],
      ],
      { step: 'inspect servers', env: { GREETING: 'hello there' } },
    );
    assert.equal(results.length, 3);
    assert.equal(results[0]!.code, 0);
    assert.match(results[0]!.stdout, /^\d+\.\d+/);
    assert.deepEqual(results[1], { code: 0, stdout: 'hello there\n', stderr: 'warn\n' });
    assert.equal(results[2]!.code, 5);
    assert.equal(p.stats()[host]!.roundTrips, 1);
    assert.equal(events.filter((e) => e.type === 'exec').length, 4);
  });

  test('many concurrent commands share one connection, at most 10 channels at a time', async () => {
    const p = pool();
    const host = hosts[1]!;
    await p.exec(host, 'rm -rf /tmp/cc && mkdir -p /tmp/cc');
    const count = 25;
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        p.exec(
          host,
          `touch /tmp/cc/${i}; sleep 0.3; n=$(ls /tmp/cc | wc -l); rm /tmp/cc/${i}; echo "${i} $n"`,
        ),
      ),
    );
    const seen = results.map((r) => r.stdout.trim().split(' ').map(Number));
    assert.deepEqual(
      seen.map(([i]) => i),
      Array.from({ length: count }, (_, i) => i),
    );
    const peak = Math.max(...seen.map(([, n]) => n!));
    assert.ok(peak <= 10, `at most 10 at once on the server, saw ${peak}`);
    assert.ok(peak >= 5, `commands overlapped (saw ${peak} at once)`);
    assert.equal(p.stats()[host]!.connections, 1);
    assert.equal(p.stats()[host]!.roundTrips, count + 1);

    // A lower limit is honoured too.
    const narrow = pool({ channelsPerConnection: 3 });
    const narrowResults = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        narrow.exec(host, `touch /tmp/cc/n${i}; sleep 0.2; ls /tmp/cc | wc -l; rm /tmp/cc/n${i}`),
      ),
    );
    assert.ok(Math.max(...narrowResults.map((r) => Number(r.stdout.trim()))) <= 3);
  });

  test('a server that allows fewer sessions than 10 still runs every command', async () => {
    const host = hosts[2]!;
    const name = names[2]!;
    docker(fleet, [
      'exec',
      name,
      'sh',
      '-c',
      'echo "MaxSessions 2" > /etc/ssh/sshd_config.d/00-wharf-test.conf && kill -HUP $(cat /run/sshd.pid)',
    ]);
    try {
      await new Promise((r) => setTimeout(r, 300)); // let sshd take the HUP before probing it
      await waitForSshd(host);
      const p = pool();
      await p.exec(host, 'rm -rf /tmp/ms && mkdir -p /tmp/ms');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          p.exec(
            host,
            `touch /tmp/ms/${i}; sleep 0.2; n=$(ls /tmp/ms | wc -l); rm /tmp/ms/${i}; echo "${i} $n"`,
          ),
        ),
      );
      const seen = results.map((r) => r.stdout.trim().split(' ').map(Number));
      assert.deepEqual(
        seen.map(([i]) => i),
        Array.from({ length: 12 }, (_, i) => i),
      );
      // The server's limit held (so the pool really met it), and everything ran on one connection.
      assert.ok(Math.max(...seen.map(([, n]) => n!)) <= 2);
      assert.equal(p.stats()[host]!.connections, 1);
      await p.close();
    } finally {
      docker(fleet, [
        'exec',
        name,
        'sh',
        '-c',
        'rm -f /etc/ssh/sshd_config.d/00-wharf-test.conf && kill -HUP $(cat /run/sshd.pid)',
      ]);
      await new Promise((r) => setTimeout(r, 300));
      await waitForSshd(host);
    }
  });

  test('stdin streams in, output streams out, env values stay out of the command line', async () => {
    const p = pool();
    const host = hosts[0]!;
    const data = randomBytes(4 * 1024 * 1024);
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
      })(),
    );
    const sum = await p.exec(host, 'sha256sum | cut -d" " -f1', { stdin: stream });
    assert.equal(sum.stdout.trim(), createHash('sha256').update(data).digest('hex'));

    const chunks: string[] = [];
    const streamed = await p.exec(host, 'for i in 1 2 3; do echo line $i; sleep 0.2; done', {
      onStdout: (c) => chunks.push(c.toString()),
      capture: false,
    });
    assert.equal(streamed.stdout, '');
    assert.equal(chunks.join(''), 'line 1\nline 2\nline 3\n');
    assert.ok(chunks.length >= 2, 'output arrived while the command ran');

    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    const withEnv = await p.exec(
      host,
      'printf "%s|" "$TOKEN" "$OTHER"; echo; tr "\\0" "\\n" < /proc/$$/cmdline | grep -c -F -e "$TOKEN"; tr "\\0" "\\n" < /proc/$$/cmdline | grep -c -F -e cmdline; cat',
      { env: { TOKEN: secret, OTHER: 'two\nlines' }, stdin: 'and stdin too' },
    );
    // The values arrive; the shell's own command line (what ps shows) has the command but not the secret.
    assert.equal(withEnv.stdout, `${secret}|two\nlines|\n0\n1\nand stdin too`);
  });

  test("stdoutTo: one server's output streams into another's stdin at the slower side's pace; a failed reader cuts it", async () => {
    const p = pool();
    const [from, to] = [hosts[0]!, hosts[1] ?? hosts[0]!];
    const size = 32 * 1024 * 1024;
    const pipe = new PassThrough({ highWaterMark: 1024 * 1024 });
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, pipe.readableLength + pipe.writableLength);
    }, 5);
    try {
      // The writer starts reading a second late: without backpressure all 32 MiB would pile up here.
      const [read, written] = await Promise.all([
        p.exec(from, `head -c ${size} /dev/zero`, { capture: false, stdoutTo: pipe }),
        p.exec(to, 'sleep 1; sha256sum | cut -d" " -f1', { stdin: pipe }),
      ]);
      assert.equal(read.code, 0);
      assert.equal(written.stdout.trim(), createHash('sha256').update(Buffer.alloc(size)).digest('hex'));
      assert.ok(peak < 8 * 1024 * 1024, `at most a few MiB buffered in wharf (peak ${peak} bytes)`);
    } finally {
      clearInterval(sample);
    }

    // A reader that fails part-way: the writer never sees an end of input, so it cannot take a cut stream for a whole one.
    const cut = new PassThrough();
    const [failedRead, cutWrite] = await Promise.allSettled([
      p.exec(from, 'head -c 100000 /dev/zero; exit 3', { capture: false, stdoutTo: cut }),
      p.exec(to, 'wc -c; echo finished', { stdin: cut }),
    ]);
    assert.equal(failedRead.status === 'fulfilled' && failedRead.value.code, 3);
    assert.ok(
      cutWrite.status === 'rejected' ||
        !cutWrite.value.stdout.includes('finished') ||
        cutWrite.value.code !== 0,
      'the writing side did not complete normally on a cut stream',
    );
  });

  test('upload writes atomically with mode and owner, in one round trip, without logging the content', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({ log: (e) => events.push(e) });
    const host = hosts[0]!;
    await p.connect([host]);
    const before = p.stats()[host]!.roundTrips;
    const content = `SECRET_KEY_BASE=${randomBytes(16).toString('hex')}\n`;
    await p.upload(host, '/root/.kamal/apps/sshtest/env/roles/web.env', content, { mode: 0o600 });
    assert.equal(p.stats()[host]!.roundTrips, before + 1);
    const check = await p.run(
      host,
      'stat -c "%a %U:%G" /root/.kamal/apps/sshtest/env/roles/web.env; cat /root/.kamal/apps/sshtest/env/roles/web.env; ls -a /root/.kamal/apps/sshtest/env/roles',
    );
    assert.equal(check.stdout, `600 root:root\n${content}.\n..\nweb.env\n`);
    assert.ok(!JSON.stringify(events).includes(content.trim()), 'content never logged');

    await p.upload(host, '/tmp/owned/file', 'x', { mode: 0o640, owner: 'nobody:nogroup' });
    assert.equal((await p.run(host, 'stat -c "%a %U:%G" /tmp/owned/file')).stdout, '640 nobody:nogroup\n');

    await assert.rejects(
      p.upload(host, '/proc/forbidden/file', 'x', { step: 'write env files' }),
      /Could not write \/proc\/forbidden\/file on 172\.\S+ during write env files: /,
    );
  });

  test('the command log sees every command, redacted by the caller', async () => {
    const events: SshLogEvent[] = [];
    const secret = 'hunter2-secret';
    const p = pool({ log: (e) => events.push(e), redact: (t) => t.split(secret).join('[REDACTED]') });
    const host = hosts[1]!;
    await assert.rejects(
      p.run(host, ['sh', '-c', `echo ${secret} >&2; exit 1`], { step: 'log in to the registry' }),
      (error: unknown) => {
        assert.ok(error instanceof SshError);
        assert.ok(!error.message.includes(secret), error.message);
        assert.match(error.message, /\[REDACTED\]/);
        return true;
      },
    );
    await p.exec(host, ['docker', 'login', '-u', 'me', '-p', secret, 'registry.example']);
    const commands = events.filter((e) => e.type === 'exec').map((e) => (e.type === 'exec' ? e.command : ''));
    assert.deepEqual(commands, [
      `sh -c 'echo [REDACTED] >&2; exit 1'`,
      'docker login -u me -p [REDACTED] registry.example',
    ]);
    assert.ok(!JSON.stringify(events).includes(secret));
    const exits = events.filter((e) => e.type === 'exit');
    assert.equal(exits.length, 2);
  });

  test('remote port forward: the server reaches a port on this machine (local registry mode)', async () => {
    let server: Server | undefined;
    try {
      server = createServer((req, res) => res.end(`deployer says ${req.url}`));
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      const localPort = (server.address() as { port: number }).port;
      const p = pool();
      const remotePort = 5691;
      await p.withRemoteForward(hosts, { remotePort, localPort }, async () => {
        const results = await Promise.all(
          hosts.map((h) =>
            p.run(
              h,
              `curl -sS http://localhost:${remotePort}/v2/ && echo && curl -sS http://127.0.0.1:${remotePort}/again`,
            ),
          ),
        );
        for (const r of results) assert.equal(r.stdout, 'deployer says /v2/\ndeployer says /again');
      });
      // Gone afterwards.
      const after = await p.exec(hosts[0]!, `curl -sS -m 2 http://localhost:${remotePort}/`);
      assert.notEqual(after.code, 0);
      // A port the server already uses (the fleet's registry forward on 5621) is one clear sentence.
      await assert.rejects(
        p.forwardRemote(hosts[0]!, { remotePort: 5621, localPort, step: 'pull the app image' }),
        /^SshError: The server 172\.\S+ would not listen on localhost:5621 for the port forward during pull the app image \(.*\); free that port/,
      );
      for (const h of hosts) assert.equal(p.stats()[h]!.connections, 1);
    } finally {
      server?.close();
    }
  });

  test('jump host: one connection to the bastion carries the connections to the others', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({ log: (e) => events.push(e) }, { proxy: hosts[0]! });
    const targets = [hosts[1]!, hosts[2]!];
    await p.connect(targets);
    const out = await Promise.all(targets.map((h) => p.run(h, 'hostname')));
    assert.deepEqual(
      out.map((r) => r.stdout.trim()),
      [names[1], names[2]],
    );
    const stats = p.stats();
    assert.equal(stats[`root@${hosts[0]}:22`]!.connections, 1);
    assert.equal(stats[hosts[1]!]!.connections, 1);
    assert.equal(stats[hosts[2]!]!.connections, 1);
    const connects = events.filter((e) => e.type === 'connect');
    assert.equal(connects.length, 3);
    assert.ok(connects.some((e) => e.type === 'connect' && e.via === `root@${hosts[0]}`));

    // The peers see the connection coming from the bastion, not from this machine.
    const from = await p.run(hosts[1]!, 'echo $SSH_CLIENT');
    assert.equal(from.stdout.split(' ')[0], hosts[0]);

    // A bastion that refuses is named as the route in the error.
    const bad = pool({ connectTimeoutMs: 3000 }, { proxy: 'root@127.0.0.1:1' });
    await assert.rejects(bad.exec(hosts[1]!, 'true', { step: 'boot' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(
        error.message,
        `Cannot connect to 127.0.0.1:1 (the jump host for ${hosts[1]}) during boot: the connection was refused; check that sshd runs there and that the port in ssh.proxy (1) is right.`,
      );
      return true;
    });
  });

  test('proxy_command: SSH over a local command (ssh -W)', async () => {
    const p = pool(
      {},
      {
        proxyCommand: `ssh -i ${fleet.ssh_key} -o UserKnownHostsFile=${fleet.known_hosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -W %h:%p root@${hosts[0]}`,
      },
    );
    const r = await p.run(hosts[2]!, 'hostname');
    assert.equal(r.stdout.trim(), names[2]);
    assert.equal(p.stats()[hosts[2]!]!.connections, 1);

    const failing = pool({}, { proxyCommand: 'echo "proxy: no route to %h" >&2; exit 1' });
    await assert.rejects(failing.exec(hosts[2]!, 'true', { step: 'boot' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.match(error.message, /172\.\S+/);
      assert.match(error.message, /during boot/);
      return true;
    });
  });

  test('a command past its timeout fails with one sentence, and the server ends it', async () => {
    const p = pool();
    const host = hosts[0]!;
    const marker = `sleep 3${Math.floor(Math.random() * 1000)}`;
    await assert.rejects(
      p.exec(host, marker, { timeoutMs: 500, step: 'wait for the app' }),
      (error: unknown) => {
        assert.ok(error instanceof SshError);
        assert.equal(error.kind, 'command-timeout');
        assert.equal(
          error.message,
          `\`${marker}\` on ${host} did not finish within 0.5 s during wait for the app; check what it waits for on the server, or allow it more time.`,
        );
        return true;
      },
    );
    // The connection stays usable and the command does not outlive the timeout on the server.
    const deadline = Date.now() + 15_000;
    let left = '';
    do {
      await new Promise((r) => setTimeout(r, 250));
      left = (await p.exec(host, ['sh', '-c', `ps -eo args | grep -c "^${marker}$" || true`])).stdout.trim();
    } while (left !== '0' && Date.now() < deadline);
    assert.equal(left, '0');
    assert.equal(p.stats()[host]!.connections, 1);
  });

  test('ssh.config: a host alias from an OpenSSH config file (HostName, IdentityFile)', async () => {
    const config = join(dir, 'ssh_config');
    writeFileSync(config, `Host fleet-web\n  HostName ${hosts[0]}\n  IdentityFile ${fleet.ssh_key}\n`);
    const p = new SshPool({ settings: { config }, hostKeys: { files: [], recordFile: record }, env: {} });
    pools.push(p);
    assert.equal((await p.run('fleet-web', 'hostname')).stdout.trim(), names[0]);
    assert.equal(p.target('fleet-web').host, hosts[0]);
    assert.equal(p.stats()['fleet-web']!.connections, 1);
  });

  test('ssh-agent: keys from the agent log in; keys_only leaves the agent out', async () => {
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const add = spawnSync('ssh-add', [fleet.ssh_key], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        encoding: 'utf8',
      });
      assert.equal(add.status, 0, add.stderr);
      const withAgent = new SshPool({
        settings: { config: false },
        sshConfig: SshConfig.empty(),
        hostKeys: { files: [], recordFile: record },
        env: { SSH_AUTH_SOCK: sock, HOME: dir },
      });
      pools.push(withAgent);
      assert.equal((await withAgent.run(hosts[0]!, 'hostname')).stdout.trim(), names[0]);
      // Not forwarded unless asked (ssh.forward_agent).
      assert.notEqual((await withAgent.exec(hosts[0]!, 'ssh-add -l')).code, 0);
      const forwarding = new SshPool({
        settings: { config: false, forwardAgent: true },
        sshConfig: SshConfig.empty(),
        hostKeys: { files: [], recordFile: record },
        env: { SSH_AUTH_SOCK: sock, HOME: dir },
      });
      pools.push(forwarding);
      const listed = await forwarding.run(hosts[0]!, 'ssh-add -l');
      assert.match(listed.stdout, /ED25519/);
      const keysOnly = new SshPool({
        settings: { config: false, keysOnly: true, keys: [] },
        sshConfig: SshConfig.empty(),
        hostKeys: { files: [], recordFile: record },
        env: { SSH_AUTH_SOCK: sock, HOME: dir },
      });
      pools.push(keysOnly);
      await assert.rejects(
        keysOnly.exec(hosts[0]!, 'true'),
        /No usable SSH private key to log in as root on 172\./,
      );
    } finally {
      agent.kill();
    }
  });

  test('ProxyJump chain from an ssh config file: two hops, one connection each', async () => {
    const config = join(dir, 'ssh_config_chain');
    writeFileSync(
      config,
      [
        `Host hop1`,
        `  HostName ${hosts[0]}`,
        `Host hop2`,
        `  HostName ${hosts[1]}`,
        `Host deep`,
        `  HostName ${hosts[2]}`,
        `  ProxyJump root@hop1,root@hop2`,
        `Host *`,
        `  IdentityFile ${fleet.ssh_key}`,
        '',
      ].join('\n'),
    );
    const p = new SshPool({
      settings: { config },
      hostKeys: { files: [], recordFile: join(dir, 'chain_known_hosts') },
      env: {},
    });
    pools.push(p);
    const from = await p.run('deep', 'hostname; echo $SSH_CLIENT');
    const [hostname, client] = from.stdout.trim().split('\n');
    assert.equal(hostname, names[2]);
    assert.equal(client!.split(' ')[0], hosts[1], 'the last hop connects to the target');
    const stats = p.stats();
    assert.equal(stats['deep']!.connections, 1);
    assert.equal(stats['root@hop2:22']!.connections, 1);
    assert.equal(stats['root@hop1:22']!.connections, 1);
    // Each hop's key was checked and recorded under its real address.
    const recorded = readFileSync(join(dir, 'chain_known_hosts'), 'utf8');
    for (const h of hosts) assert.ok(recorded.includes(`${h} ssh-ed25519 `), `${h} recorded`);
  });

  test('sshkit.pool_idle_timeout: an idle connection is closed and the next command reconnects', async () => {
    const events: SshLogEvent[] = [];
    const p = pool({ log: (e) => events.push(e) }, { poolIdleTimeoutSeconds: 0.4 });
    const host = hosts[0]!;
    await p.run(host, 'true');
    for (let i = 0; i < 40 && !events.some((e) => e.type === 'close'); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      events.some((e) => e.type === 'close' && e.host === host),
      'closed when idle',
    );
    await p.run(host, 'true');
    assert.equal(p.stats()[host]!.connections, 2);
  });

  test('a key the server does not accept is one sentence naming user and host', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519').private;
    const p = pool({}, { keys: [], keyData: [other] });
    await assert.rejects(p.exec(hosts[0]!, 'true', { step: 'connect to servers' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(error.kind, 'auth');
      assert.match(
        error.message,
        /^SSH login as root on 172\.\S+ was refused during connect to servers \(tried ssh\.key_data\[0\]\); add your public key/,
      );
      return true;
    });
  });

  test('a changed host key is refused with the host, the new fingerprint and the line to fix', async () => {
    const host = hosts[2]!;
    const name = names[2]!;
    const p = pool();
    await p.connect([host]); // recorded (or already known) under the old key
    await p.close();
    const regen = docker(fleet, [
      'exec',
      name,
      'sh',
      '-c',
      'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && kill -HUP $(cat /run/sshd.pid) && cat /etc/ssh/ssh_host_ed25519_key.pub',
    ]);
    assert.equal(regen.code, 0, regen.stderr);
    const newFingerprint = keyFingerprint(Buffer.from(regen.stdout.trim().split(/\s+/)[1]!, 'base64'));
    await new Promise((r) => setTimeout(r, 500));
    const lineNo =
      readFileSync(record, 'utf8')
        .split('\n')
        .findIndex((l) => l.startsWith(`${host} `)) + 1;
    const q = pool();
    await assert.rejects(q.exec(host, 'true', { step: 'boot app' }), (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(error.kind, 'host-key');
      assert.equal(
        error.message,
        `Refusing to connect to ${host} during boot app: it presented host key ssh-ed25519 ${newFingerprint}, which does not match the key recorded in ${record}:${lineNo}; if the server was rebuilt, delete that line (ssh-keygen -R ${host} -f ${record}) and run again, otherwise someone may be intercepting the connection.`,
      );
      return true;
    });
    assert.equal(q.stats()[host]!.connections, 0);
    // A host the user's ssh config marks StrictHostKeyChecking no is not checked (as OpenSSH and Kamal do).
    const config = join(dir, 'ssh_config_unchecked');
    writeFileSync(config, `Host ${host}\n  StrictHostKeyChecking no\n  IdentityFile ${fleet.ssh_key}\n`);
    const events: SshLogEvent[] = [];
    const unchecked = new SshPool({
      settings: { config },
      hostKeys: { files: [], recordFile: record },
      env: {},
      log: (e) => events.push(e),
    });
    pools.push(unchecked);
    assert.equal((await unchecked.run(host, 'hostname')).stdout.trim(), name);
    assert.ok(events.some((e) => e.type === 'connect' && e.hostKey === 'unchecked'));
    // Nothing was recorded over the old key.
    assert.equal(
      readFileSync(record, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`${host} `)).length,
      1,
    );
  });

  test('the connection dropping mid-command is one sentence with host, step and command; the next command reconnects', async () => {
    const host = hosts[1]!;
    const name = names[1]!;
    const p = pool({ keepaliveIntervalMs: 1000 });
    await p.connect([host]);
    const running = p.exec(host, ['sleep', '30'], { step: 'boot app' });
    await new Promise((r) => setTimeout(r, 500));
    const restart = docker(fleet, ['restart', '--time', '0', name]);
    assert.equal(restart.code, 0, restart.stderr);
    await assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof SshError);
      assert.equal(error.kind, 'dropped');
      assert.equal(
        error.message,
        `The SSH connection to ${host} dropped during boot app while running \`sleep 30\`; check that the server is up and run the command again.`,
      );
      return true;
    });
    await waitForSshd(host);
    const again = await p.run(host, 'echo back');
    assert.equal(again.stdout, 'back\n');
    assert.equal(p.stats()[host]!.connections, 2);
  });

  test('a server that is down is one sentence naming the host and the step', async () => {
    const host = hosts[1]!;
    const name = names[1]!;
    const stop = docker(fleet, ['stop', '--time', '0', name]);
    assert.equal(stop.code, 0, stop.stderr);
    try {
      const p = pool({ connectTimeoutMs: 2000 });
      await assert.rejects(p.connect([hosts[0]!, host], 'connect to servers'), (error: unknown) => {
        assert.ok(error instanceof SshError);
        assert.match(
          error.message,
          new RegExp(
            `^Cannot connect to ${host.replace(/\./g, '\\.')} during connect to servers: (no answer within 2 s|no route to the host)`,
          ),
        );
        return true;
      });
      // The healthy server was connected all the same.
      assert.equal(p.stats()[hosts[0]!]!.connections, 1);
    } finally {
      docker(fleet, ['start', name]);
    }
  });
});
