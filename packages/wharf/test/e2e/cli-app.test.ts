/**
 * End-to-end: the `app`, `lock`, `audit`, `details`, `server exec` commands
 * and config aliases against one deploy of examples/hello on a 2-server
 * fleet (fleet `clitest`, registry port 5661). The deploy happens once in
 * before(); the tests run in order and leave the app serving unless a test
 * says otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { appProject, httpGet, type AppProject } from '../support/app-project.js';
import { fleetUp, sshRun, WHARF_BIN, wharf, type CliResult, type TestFleet } from '../support/fleet.js';

describe('wharf app, lock, audit, details, server exec and aliases on the fleet', () => {
  let fleet: TestFleet;
  let app: AppProject;
  let version: string;
  const run = (args: string[], input?: string): CliResult =>
    wharf(args, { cwd: app.dir, env: app.env, ...(input !== undefined ? { input } : {}) });
  const ok = (args: string[], input?: string): CliResult => {
    const result = run(args, input);
    assert.equal(result.code, 0, `wharf ${args.join(' ')} failed: ${result.stderr}`);
    return result;
  };
  const hosts = () => fleet.servers.map((s) => s.address);
  /** wharf without blocking the event loop (for a command that waits while the test acts). */
  const wharfInBackground = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      const env = { ...process.env, ...app.env };
      delete env.NODE_TEST_CONTEXT;
      const child = spawn(process.execPath, [WHARF_BIN, ...args], { cwd: app.dir, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  const status = async (path = '/up') =>
    Promise.all(hosts().map(async (h) => (await httpGet(h, path)).status));

  before(() => {
    fleet = fleetUp('clitest', 2, 5661);
    app = appProject(fleet);
    // Its own known_hosts: fleets of other names may have had these addresses (with other host keys) before.
    app.env.WHARF_HOME = mkdtempSync(join(tmpdir(), 'wharf-home-'));
    // The local `ssh -t` of interactive exec and follow checks the fleet's host keys through an ssh config.
    const sshConfig = join(app.dir, 'ssh_config');
    writeFileSync(
      sshConfig,
      `Host *\n  UserKnownHostsFile ${fleet.known_hosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`,
    );
    const deployYml = join(app.dir, 'config/deploy.yml');
    appendFileSync(
      deployYml,
      '\naliases:\n  twowords: server exec "echo \'two  words\'"\n  again: twowords\n  running: app version\n',
    );
    writeFileSync(
      deployYml,
      readFileSync(deployYml, 'utf8').replace(/^ssh:\n/m, `ssh:\n  config: ${sshConfig}\n`),
    );
    app.commit('config/deploy.yml', (t) => t, 'aliases and ssh config');
    version = app.head();
    const result = run(['deploy', '-q']);
    assert.equal(result.code, 0, result.stderr);
  });

  after(() => {
    fleet?.down();
  });

  test('app version, details, containers and images print each host under "App Host:"', () => {
    const v = ok(['app', 'version']).stdout;
    assert.equal(
      v,
      hosts()
        .map((h) => `App Host: ${h}\n${version}\n`)
        .join('\n'),
    );
    // -q leaves the headers out.
    assert.equal(ok(['-q', 'app', 'version']).stdout, `${version}\n\n${version}\n`);
    const details = ok(['app', 'details']).stdout;
    for (const h of hosts())
      assert.match(details, new RegExp(`App Host: ${h.replace(/\./g, '\\.')}\nCONTAINER ID`));
    assert.match(details, new RegExp(`hello-web-${version}`));
    const images = ok(['app', 'images']).stdout;
    assert.match(images, new RegExp(`localhost:5661/hello +${version}`));
    assert.match(images, /localhost:5661\/hello +latest/);
  });

  test('app logs: -n, -T, -g and "Nothing found"', () => {
    const logs = ok(['app', 'logs', '-n', '1']).stdout;
    for (const h of hosts())
      assert.match(
        logs,
        new RegExp(
          `App Host: ${h.replace(/\./g, '\\.')}\n\\d{4}-\\d\\d-\\d\\dT[^ ]+Z hello ${version} listening on :3000`,
        ),
      );
    // -T drops the timestamps; --grep-options reach grep.
    assert.match(
      ok(['app', 'logs', '-g', 'LISTENING', '--grep-options', '-i', '-T']).stdout,
      new RegExp(`: ${hosts()[1]!.replace(/\./g, '\\.')}\nhello ${version} listening on :3000`),
    );
    assert.match(ok(['app', 'logs', '-g', 'no-such-line-xyz']).stdout, /Nothing found/);
  });

  test('app logs -f follows on the primary host through a local ssh -t', () => {
    // (No --grep here: without a terminal grep holds its output in a block buffer.)
    const result = wharf(['app', 'logs', '-f', '-n', '1', '-T'], {
      cwd: app.dir,
      env: app.env,
      timeoutMs: 6000,
    });
    // Still following when the timeout ends it; the line arrived first.
    assert.match(result.stdout, /listening on :3000/);
    assert.match(result.stderr, new RegExp(`Following logs on ${hosts()[0]!.replace(/\./g, '\\.')}`));
  });

  test('app exec: a new container per host, --reuse, -e, exit status and option clashes', () => {
    const fresh = ok(['app', 'exec', 'cat /etc/hostname']).stdout;
    // A new container on each host gets docker's random hostname, not the app container's.
    assert.equal((fresh.match(/App Host: /g) ?? []).length, 2);
    // --reuse runs in the app container (its hostname is Kamal's <host>-<hex>); -e sets a variable.
    const reuse = ok([
      'app',
      'exec',
      '--reuse',
      '-e',
      'FOO=bar baz',
      'sh -c "cat /etc/hostname; printenv FOO"',
    ]).stdout;
    for (const h of hosts())
      assert.match(
        reuse,
        new RegExp(
          `App Host: ${h.replace(/\./g, '\\.')}\n${h.replace(/\./g, '\\.')}-[0-9a-f]{12}\nbar baz\n`,
        ),
      );
    const failing = run(['app', 'exec', 'false']);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /^wharf: .* failed on 172\.30\.\d+\.\d+: /m);
    // --detach leaves a new container running in the background and prints its id.
    const detached = ok(['-h', hosts()[0]!, 'app', 'exec', '--detach', 'sleep 60']).stdout;
    assert.match(detached, /^App Host: .*\n[0-9a-f]{64}\n$/);
    const exec = sshRun(
      fleet,
      hosts()[0]!,
      `docker ps --filter name=hello-web-exec-latest- --format '{{.Names}}'; docker rm -f $(docker ps -aq --filter name=hello-web-exec-) >/dev/null`,
    );
    assert.match(exec.stdout, /^hello-web-exec-latest-[0-9a-f]{6}\n$/);
    const clash = run(['app', 'exec', '--detach', '--reuse', 'true']);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /--detach cannot be combined with --reuse/);
  });

  test('app exec -i runs over a local ssh on the primary host and passes its exit status', () => {
    const reuse = run(['app', 'exec', '-i', '--reuse', 'hostname'], '');
    assert.equal(reuse.code, 0, reuse.stderr);
    assert.match(reuse.stdout, new RegExp(`^${hosts()[0]!.replace(/\./g, '\\.')}-[0-9a-f]{12}`));
    const fresh = run(['app', 'exec', '-i', 'sh'], 'echo from-stdin; exit 4\n');
    assert.equal(fresh.code, 4, fresh.stderr);
    assert.match(fresh.stdout, /from-stdin/);
  });

  test('app maintenance answers 503 with the message; app live serves again', async () => {
    ok(['app', 'maintenance', '--message', 'Back at noon']);
    for (const h of hosts()) {
      const res = await httpGet(h, '/');
      assert.equal(res.status, 503);
      assert.match(res.body, /Back at noon/);
    }
    ok(['app', 'live']);
    assert.deepEqual(await status(), [200, 200]);
  });

  test('app stop takes the app out of the proxy (404); app start brings it back', async () => {
    ok(['app', 'stop']);
    assert.deepEqual(await status(), [404, 404]);
    ok(['app', 'start']);
    assert.deepEqual(await status(), [200, 200]);
  });

  test('app stale_containers lists, then --stop stops, a second running version', () => {
    // app boot boots the latest image as its own container; the deployed one is stopped.
    ok(['app', 'boot']);
    const started = sshRun(fleet, hosts()[0]!, `docker start hello-web-${version}`);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(
      ok(['app', 'stale_containers']).stdout,
      `Detected stale container for role web with version ${version} on ${hosts()[0]} (use \`wharf app stale_containers --stop\` to stop)\n`,
    );
    assert.match(
      ok(['app', 'stale_containers', '--stop']).stdout,
      new RegExp(
        `Stopping stale container for role web with version ${version} on ${hosts()[0]!.replace(/\./g, '\\.')}`,
      ),
    );
  });

  test('lock acquire blocks with one sentence naming the holder; status, release and --lock-wait', async () => {
    assert.equal(ok(['lock', 'status']).stdout, 'There is no deploy lock\n');
    assert.equal(ok(['lock', 'acquire', '-m', 'Maintenance window']).stdout, 'Acquired the deploy lock\n');
    const status = ok(['lock', 'status']).stdout;
    assert.match(
      status,
      /^Locked by: wharf test at \d{4}-\d\d-\d\dT[\d:]+Z\nVersion: [0-9a-f]{40}\nMessage: Maintenance window\n$/,
    );
    const again = run(['lock', 'acquire', '-m', 'second']);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      new RegExp(
        `^wharf: The deploy lock on ${hosts()[0]!.replace(/\./g, '\\.')} is held \\(.*Message: Maintenance window\\); .*wharf lock release`,
      ),
    );
    assert.equal(ok(['lock', 'release']).stdout, 'Released the deploy lock\n');
    assert.equal(ok(['lock', 'release']).stdout, 'There is no deploy lock\n');
    // --lock-wait: a command waits for an automatic (deploy) lock and goes on once it is released.
    const details = Buffer.from(
      `Locked by: someone at 2026-01-01T00:00:00Z\nVersion: x\nMessage: Automatic deploy lock`,
    ).toString('base64');
    assert.equal(
      sshRun(fleet, hosts()[0]!, `mkdir -p .kamal/lock-hello && echo ${details} > .kamal/lock-hello/details`)
        .code,
      0,
    );
    const waiting = wharfInBackground([
      'prune',
      'all',
      '--lock-wait',
      '--lock-wait-interval',
      '1',
      '--lock-wait-timeout',
      '60',
    ]);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(sshRun(fleet, hosts()[0]!, 'rm -rf .kamal/lock-hello').code, 0);
    const waited = await waiting;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /Waiting for the deploy lock on /);
  });

  test("audit shows each host's log; details shows proxy and app", () => {
    const audit = ok(['audit']).stdout;
    for (const h of hosts()) assert.match(audit, new RegExp(`App Host: ${h.replace(/\./g, '\\.')}\n\\[`));
    assert.match(audit, new RegExp(`\\[web\\] Booted app version ${version}`));
    assert.match(audit, /Acquired the deploy lock: Maintenance window/);
    assert.match(audit, /Set application to maintenance mode/);
    const details = ok(['details']).stdout;
    assert.match(details, /^Proxy Host: 172\.30\.\d+\.\d+\nCONTAINER ID .*\n.*wharf-proxy.* kamal-proxy\n/m);
    assert.match(details, /App Host: 172\.30\.\d+\.\d+\nCONTAINER ID/);
  });

  test('server exec runs a shell command on every host; aliases expand, chain and keep global flags', () => {
    const result = ok(['server', 'exec', 'echo', '$((20+22))']);
    assert.equal(
      result.stdout,
      hosts()
        .map((h) => `App Host: ${h}\n42\n`)
        .join('\n'),
    );
    assert.equal(ok(['again', '-q']).stdout, 'two  words\n\ntwo  words\n');
    assert.equal(ok(['-h', hosts()[1]!, 'running']).stdout, `App Host: ${hosts()[1]}\nlatest\n`);
    const unknown = run(['nosuchcommand']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^wharf: Unknown command 'nosuchcommand'; run `wharf --help`/);
    assert.equal(ok(['server', 'exec', '-i', 'echo interactive'], '').stdout.trim(), 'interactive');
  });

  test('app remove stops the app and leaves no container, image or app directory', () => {
    ok(['app', 'remove']);
    for (const h of hosts()) {
      const left = sshRun(
        fleet,
        h,
        'docker ps -a --filter label=service=hello -q; docker image ls localhost:5661/hello -q; ls .kamal/apps; ls .kamal/proxy/apps-config',
      );
      assert.equal(left.code, 0, left.stderr);
      assert.equal(left.stdout.trim(), '');
    }
  });
});
