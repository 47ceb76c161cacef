/**
 * End-to-end: `setup`, the `proxy`, `build`, `registry`, `prune` and
 * `server bootstrap` commands and `remove`, against examples/hello on a
 * 2-server fleet (fleet `clitest2`, registry port 5662). `setup` deploys once
 * in before(); the tests run in order; the last one removes everything.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { appProject, httpGet, type AppProject } from '../support/app-project.js';
import { fleetUp, sshRun, wharf, type CliResult, type TestFleet } from '../support/fleet.js';

const REGISTRY_PASSWORD = 's3cret-Registry-pw-8417';

describe('wharf setup, proxy, build, registry, prune, server bootstrap and remove on the fleet', () => {
  let fleet: TestFleet;
  let app: AppProject;
  let hookLog: string;
  const run = (args: string[], input?: string): CliResult =>
    wharf(args, { cwd: app.dir, env: app.env, ...(input !== undefined ? { input } : {}) });
  const ok = (args: string[]): CliResult => {
    const result = run(args);
    assert.equal(result.code, 0, `wharf ${args.join(' ')} failed: ${result.stderr}`);
    return result;
  };
  const hosts = () => fleet.servers.map((s) => s.address);
  const on = (i: number, command: string): string => {
    const result = sshRun(fleet, hosts()[i]!, command);
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    return result.stdout;
  };
  const status = async (path = '/up') =>
    Promise.all(hosts().map(async (h) => (await httpGet(h, path).catch(() => ({ status: 0 }))).status));
  const hookLines = () =>
    readFileSync(hookLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trimEnd());
  /** Status of both hosts, polled for a few seconds until it is `want` (a started container's published port takes a moment). */
  const statusSoon = async (want: number[]) => {
    let got = await status();
    for (let i = 0; i < 20 && JSON.stringify(got) !== JSON.stringify(want); i++) {
      await new Promise((r) => setTimeout(r, 500));
      got = await status();
    }
    return got;
  };

  before(() => {
    fleet = fleetUp('clitest2', 2, 5662);
    app = appProject(fleet);
    // Its own known_hosts: fleets of other names may have had these addresses (with other host keys) before.
    app.env.WHARF_HOME = mkdtempSync(join(tmpdir(), 'wharf-home-'));
    hookLog = join(app.dir, 'hooks.log');
    const hooks = join(app.dir, '.kamal/hooks');
    mkdirSync(hooks, { recursive: true });
    for (const name of ['pre-proxy-reboot', 'post-proxy-reboot', 'docker-setup']) {
      writeFileSync(
        join(hooks, name),
        `#!/bin/sh\necho "${name} $KAMAL_HOSTS $KAMAL_COMMAND $KAMAL_SUBCOMMAND" >> ${hookLog}\n`,
      );
      chmodSync(join(hooks, name), 0o755);
    }
    // A second config that logs in to a registry with a password from the secrets file.
    const deployYml = readFileSync(join(app.dir, 'config/deploy.yml'), 'utf8');
    writeFileSync(
      join(app.dir, 'config/remote-registry.yml'),
      deployYml.replace(
        /registry:\n(.*\n)+?\n/,
        `registry:\n  server: 127.0.0.1:5662\n  username: deployer\n  password:\n    - REGISTRY_PASSWORD\n\n`,
      ),
    );
    writeFileSync(join(app.dir, '.kamal/secrets'), `REGISTRY_PASSWORD=${REGISTRY_PASSWORD}\n`);
    writeFileSync(join(app.dir, '.gitignore'), 'hooks.log\n');
    execFileSync('git', ['add', '-A'], { cwd: app.dir });
    execFileSync('git', ['commit', '-q', '-m', 'hooks, secrets and a second config'], { cwd: app.dir });
    const result = run(['setup', '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Deployed [0-9a-f]{40} to /);
  });

  after(() => {
    fleet?.down();
  });

  test('setup bootstrapped the servers (docker-setup hook ran) and deployed behind the proxy', async () => {
    assert.deepEqual(hookLines(), [`docker-setup ${hosts().join(',')} setup`]);
    assert.deepEqual(await status(), [200, 200]);
    assert.equal(ok(['lock', 'status']).stdout, 'There is no deploy lock\n');
  });

  test('proxy details and logs, grouped by host', () => {
    const details = ok(['proxy', 'details']).stdout;
    for (const h of hosts())
      assert.match(
        details,
        new RegExp(`Proxy Host: ${h.replace(/\./g, '\\.')}\nCONTAINER ID.*\n.*wharf-proxy.*kamal-proxy\n`),
      );
    const logs = ok(['proxy', 'logs', '-n', '1', '-T']).stdout;
    assert.equal((logs.match(/^Proxy Host: /gm) ?? []).length, 2);
    assert.match(logs, /^\{"time":/m);
  });

  test('proxy reboot refuses without -y in a non-interactive shell; --rolling -y reboots one host at a time and keeps the routes', async () => {
    const before = on(0, 'docker inspect --format "{{.Id}}" kamal-proxy').trim();
    const refused = run(['proxy', 'reboot']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^wharf: `wharf proxy reboot` needs confirmation .* pass -y/);
    assert.equal(on(0, 'docker inspect --format "{{.Id}}" kamal-proxy').trim(), before);
    ok(['proxy', 'reboot', '--rolling', '-y']);
    assert.notEqual(on(0, 'docker inspect --format "{{.Id}}" kamal-proxy').trim(), before);
    assert.deepEqual(hookLines().slice(1), [
      `pre-proxy-reboot ${hosts()[0]} proxy reboot`,
      `post-proxy-reboot ${hosts()[0]} proxy reboot`,
      `pre-proxy-reboot ${hosts()[1]} proxy reboot`,
      `post-proxy-reboot ${hosts()[1]} proxy reboot`,
    ]);
    // The proxy state lives in the kamal-proxy-config volume: the app is routed again without a redeploy.
    assert.deepEqual(await statusSoon([200, 200]), [200, 200]);
  });

  test('proxy stop, start and restart', async () => {
    ok(['proxy', 'stop']);
    assert.deepEqual(await status(), [0, 0]);
    ok(['proxy', 'start']);
    assert.deepEqual(await statusSoon([200, 200]), [200, 200]);
    ok(['proxy', 'restart']);
    assert.deepEqual(await statusSoon([200, 200]), [200, 200]);
  });

  test('build push, pull, deliver, details and dev', async () => {
    const version = app.commit('server.mjs', (t) => `${t}// build test\n`, 'build test');
    assert.match(
      ok(['build', 'push']).stdout,
      new RegExp(`^Built localhost:5662/hello:${version}, localhost:5662/hello:latest\n$`),
    );
    const tags = (await (await fetch('http://127.0.0.1:5662/v2/hello/tags/list')).json()) as {
      tags: string[];
    };
    assert.ok(tags.tags.includes(version), JSON.stringify(tags));
    ok(['build', 'pull']);
    for (const i of [0, 1])
      assert.match(
        on(i, 'docker image ls localhost:5662/hello --format "{{.Tag}}"'),
        new RegExp(`^${version}$`, 'm'),
      );
    ok(['-h', hosts()[1]!, 'build', 'deliver']);
    assert.match(ok(['build', 'details']).stdout, /^Builder: /);
    // The fleet engine has no buildx: the plain docker builder needs no setup, so create and remove succeed doing nothing.
    ok(['build', 'create']);
    ok(['build', 'remove']);
    assert.match(ok(['build', 'dev']).stdout, new RegExp(`^Built localhost:5662/hello:${version}-dirty`));
  });

  test('registry: a local registry is set up, not logged in to; a remote one is logged in to on the hosts with the password never shown', () => {
    ok(['registry', 'setup']);
    const login = run(['registry', 'login']);
    assert.equal(login.code, 1);
    assert.match(
      login.stderr,
      /^wharf: Cannot use the login command with a local registry \(localhost:5662\); use `wharf registry setup` instead\.\n$/,
    );
    const logout = run(['registry', 'logout']);
    assert.equal(logout.code, 1);
    assert.match(logout.stderr, /use `wharf registry remove` instead/);
    const remote = run(['-v', '-c', 'config/remote-registry.yml', 'registry', 'login', '-L']);
    assert.equal(remote.code, 0, remote.stderr);
    assert.ok(!`${remote.stdout}${remote.stderr}`.includes(REGISTRY_PASSWORD), 'the password was printed');
    const auth = Buffer.from(`deployer:${REGISTRY_PASSWORD}`).toString('base64');
    for (const i of [0, 1])
      assert.match(
        on(i, 'cat ~/.docker/config.json'),
        new RegExp(`"127\\.0\\.0\\.1:5662": \\{\\s*"auth": "${auth}"`),
      );
    ok(['-c', 'config/remote-registry.yml', 'registry', 'logout', '-L']);
    for (const i of [0, 1]) assert.doesNotMatch(on(i, 'cat ~/.docker/config.json'), /127\.0\.0\.1:5662/);
  });

  test('prune containers keeps the newest --retain stopped ones; prune images removes unused ones; prune all', () => {
    const image = on(
      0,
      'docker inspect --format "{{.Config.Image}}" $(docker ps -q --filter label=service=hello)',
    ).trim();
    on(
      0,
      `for n in 1 2 3; do docker create --label service=hello --label destination= --label role=web --name hello-web-old$n ${image} >/dev/null; sleep 1; done`,
    );
    ok(['-h', hosts()[0]!, 'prune', 'containers', '--retain', '1']);
    assert.equal(
      on(0, 'docker ps -a --filter label=service=hello --filter status=created --format "{{.Names}}"').trim(),
      'hello-web-old3',
    );
    const badRetain = run(['prune', 'containers', '--retain', '0']);
    assert.equal(badRetain.code, 1);
    assert.match(badRetain.stderr, /--retain must be a whole number of at least 1/);
    // The pulled build-test image is used by no container.
    ok(['prune', 'images']);
    assert.equal(
      on(1, 'docker image ls localhost:5662/hello --format "{{.Tag}}" | sort')
        .trim()
        .split('\n')
        .filter((t) => !t.includes('latest')).length,
      1,
    );
    ok(['prune', 'all']);
    assert.match(on(0, 'tail -n 3 .kamal/hello-audit.log'), /Pruned containers and images/);
  });

  test('server bootstrap with Docker present only runs the docker-setup hook', () => {
    ok(['server', 'bootstrap']);
    assert.equal(hookLines().at(-1), `docker-setup ${hosts().join(',')} server bootstrap`);
  });

  test('proxy remove keeps the proxy while the app is installed', async () => {
    const result = ok(['proxy', 'remove']);
    assert.match(
      result.stderr,
      /not removing the proxy, as other apps are installed on .*wharf proxy remove --force/,
    );
    assert.deepEqual(await status(), [200, 200]);
  });

  test('remove refuses without -y in a non-interactive shell; remove -y leaves nothing behind', async () => {
    const refused = run(['remove']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^wharf: `wharf remove` needs confirmation and this shell is not interactive, so nothing was changed; pass -y/,
    );
    assert.deepEqual(await status(), [200, 200]);
    ok(['remove', '-y']);
    for (const i of [0, 1]) {
      assert.equal(
        on(
          i,
          'docker ps -aq; docker image ls -q; ls .kamal/apps; ls -d .kamal/proxy 2>/dev/null || true',
        ).trim(),
        '',
      );
    }
    assert.deepEqual(await status(), [0, 0]);
  });
});
