/**
 * End-to-end: the accessory lifecycle on a 2-server fleet (fleet `acc`,
 * registry port 5684). `setup -P` in before() boots every accessory and the
 * app (a prebuilt image, so no app build): `store` (a shell loop on the node
 * base image, with files, directories, a named volume, labels, options, an
 * env file and a port on 127.0.0.1) on the first server, and `echo` (a tiny
 * node server behind wharf-proxy, placed by tag) on the second. The tests run
 * in order: skip when booted, exec/details/logs, stop/start/restart through
 * the proxy, reboot and upgrade keeping data, remove refused then done.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { dockerEnv, fleetUp, sshRun, wharf, type CliResult, type TestFleet } from '../support/fleet.js';

const STORE_PASSWORD = 'st0re-Secret-value-5684';
const WEB_HOST = 'acc-echo.example.test';

function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

describe('wharf accessory on the fleet', () => {
  let fleet: TestFleet;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[]): CliResult => wharf(args, { cwd: dir, env, input: '' });
  const ok = (args: string[]): CliResult => {
    const result = run(args);
    assert.equal(result.code, 0, `wharf ${args.join(' ')} failed: ${result.stderr}`);
    return result;
  };
  const host = (i: number) => fleet.servers[i]!.address;
  const on = (i: number, command: string): string => {
    const result = sshRun(fleet, host(i), command);
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const docker = (args: string[], input?: string) => {
    const result = spawnSync('docker', args, { env: dockerEnv(fleet), input, encoding: 'utf8' });
    assert.equal(result.status, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  /** GET / on the second server through wharf-proxy with echo's Host header (fetch cannot set Host). */
  const echo = (): Promise<{ status: number; body: string }> =>
    new Promise((resolve) => {
      const req = request(
        { host: host(1), port: 80, path: '/', headers: { host: WEB_HOST }, timeout: 15_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end();
    });
  /** echo() polled for a few seconds until it answers `want` (a route change takes a moment under load). */
  const echoSoon = async (want: { status: number; body: string }) => {
    let got = await echo();
    for (let i = 0; i < 20 && JSON.stringify(got) !== JSON.stringify(want); i++) {
      await new Promise((r) => setTimeout(r, 500));
      got = await echo();
    }
    return got;
  };
  const storeId = () => on(0, 'docker inspect --format "{{.Id}}" accapp-store');

  before(() => {
    const t0 = Date.now();
    const mark = (what: string) =>
      process.stderr.write(`# before: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    fleet = fleetUp('acc', 2, 5684);
    mark('fleet up');
    const registry = fleet.registry;
    // Images: two tags of one accessory image (:2 differs by a label only), and the app image.
    docker(['tag', fleet.base_images.node, `${registry}/acc/node:1`]);
    docker(
      ['build', '-q', '-t', `${registry}/acc/node:2`, '-'],
      `FROM ${registry}/acc/node:1\nLABEL acc.version=2\n`,
    );
    for (const tag of ['1', '2']) docker(['push', '-q', `${registry}/acc/node:${tag}`]);
    mark('accessory images pushed');

    dir = mkdtempSync(join(tmpdir(), 'wharf-acc-'));
    mkdirSync(join(dir, 'config'));
    mkdirSync(join(dir, 'files'));
    mkdirSync(join(dir, '.kamal'));
    writeFileSync(
      join(dir, 'config/deploy.yml'),
      `service: accapp
image: accapp
servers:
  web:
    - ${host(0)}
    - ${host(1)}: [db]
proxy:
  app_port: 3000
  healthcheck:
    path: /up
    interval: 1
registry:
  server: ${registry}
builder:
  arch: amd64
ssh:
  user: root
  keys:
    - ${fleet.ssh_key}
accessories:
  store:
    image: ${registry}/acc/node:1
    host: ${host(0)}
    port: "127.0.0.1:7001:7001"
    cmd: sh -c 'echo store started as $KAMAL_HOST; trap "exit 0" TERM; while true; do sleep 1; done'
    labels:
      team: data
    options:
      memory: 256m
    env:
      clear:
        GREETING: hello
      secret:
        - STORE_PASSWORD
    files:
      - files/plain.conf:/etc/store/plain.conf
      - local: files/rendered.conf.erb
        remote: /etc/store/rendered.conf
        mode: "640"
        owner: "1000:1000"
    directories:
      - data:/data
      - local: logs
        remote: /logs
        mode: "750"
        owner: "1000:1000"
    volumes:
      - accapp-store-vol:/vol
  echo:
    image: ${registry}/acc/node:1
    tag: db
    cmd: node -e 'process.on("SIGTERM", () => process.exit(0)); require("http").createServer((q, s) => s.end("acc echo on " + process.env.KAMAL_HOST)).listen(80)'
    proxy:
      host: ${WEB_HOST}
      app_port: 80
      healthcheck:
        path: /
        interval: 1
`,
    );
    writeFileSync(join(dir, 'files/plain.conf'), 'plain=1\n');
    writeFileSync(
      join(dir, 'files/rendered.conf.erb'),
      'greeting=<%= ENV["GREETING"] %> password=<%= ENV["STORE_PASSWORD"] %>\n',
    );
    writeFileSync(join(dir, '.kamal/secrets'), `STORE_PASSWORD=${STORE_PASSWORD}\n`);
    git(dir, ['init', '-q', '-b', 'main']);
    git(dir, ['add', '-A']);
    git(dir, ['-c', 'user.email=t@wharf.invalid', '-c', 'user.name=t', 'commit', '-q', '-m', 'accessories']);
    // The app image for this commit, prebuilt so that setup -P only pulls it.
    const app = `FROM ${registry}/acc/node:1\nLABEL service=accapp\nCMD ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); require('http').createServer((q, s) => s.end('app')).listen(3000)"]\n`;
    docker(['build', '-q', '-t', `${registry}/accapp:${git(dir, ['rev-parse', 'HEAD'])}`, '-'], app);
    docker(['push', '-q', `${registry}/accapp:${git(dir, ['rev-parse', 'HEAD'])}`]);
    env = { DOCKER_HOST: fleet.docker_host, WHARF_HOME: mkdtempSync(join(tmpdir(), 'wharf-home-')) };
    mark('app image pushed');
    const setup = run(['setup', '-P']);
    process.stderr.write(setup.stderr.replace(/^/gm, '# setup: '));
    assert.equal(setup.code, 0, setup.stderr);
    mark('setup done');
  });

  after(() => {
    fleet?.down();
  });

  test('setup booted every accessory: files, directories, env file 0600, labels, options, port on 127.0.0.1, proxy', async () => {
    assert.equal(
      on(
        0,
        'stat -c "%a %u" accapp-store/etc/store/plain.conf accapp-store/etc/store/rendered.conf accapp-store/logs accapp-store/data',
      ),
      '755 0\n640 1000\n750 1000\n755 0',
    );
    assert.equal(
      on(0, 'cat accapp-store/etc/store/rendered.conf'),
      `greeting=hello password=${STORE_PASSWORD}`,
    );
    assert.equal(on(0, 'stat -c "%a" .kamal/apps/accapp/env/accessories/store.env'), '600');
    assert.equal(
      on(0, 'cat .kamal/apps/accapp/env/accessories/store.env'),
      `STORE_PASSWORD=${STORE_PASSWORD}`,
    );
    assert.equal(
      on(
        0,
        `docker inspect --format '{{index .Config.Labels "service"}} {{index .Config.Labels "team"}} {{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}} {{json .HostConfig.PortBindings}}' accapp-store`,
      ),
      'accapp-store data 268435456 unless-stopped {"7001/tcp":[{"HostIp":"127.0.0.1","HostPort":"7001"}]}',
    );
    assert.equal(on(0, 'docker exec accapp-store cat /etc/store/plain.conf'), 'plain=1');
    assert.match(on(0, 'tail -n 20 .kamal/accapp-audit.log'), /Booted store accessory/);
    // echo is placed by tag on the second server only, and answers through wharf-proxy there.
    assert.equal(on(0, 'docker ps -q --filter label=service=accapp-echo'), '');
    assert.deepEqual(await echoSoon({ status: 200, body: `acc echo on ${host(1)}` }), {
      status: 200,
      body: `acc echo on ${host(1)}`,
    });
  });

  test('boot of a running accessory is skipped, as in Kamal', () => {
    const id = storeId();
    const result = ok(['accessory', 'boot', 'store']);
    assert.match(
      result.stderr,
      new RegExp(
        `Skipping booting \`store\` on ${host(0).replace(/\./g, '\\.')}, a container already exists`,
      ),
    );
    assert.equal(storeId(), id);
  });

  test('exec in the running container and in a new one, details and logs', () => {
    const reuse = ok([
      'accessory',
      'exec',
      'store',
      '--reuse',
      'sh -c "echo dir > /data/kept.txt; echo vol > /vol/kept.txt; cat /etc/store/rendered.conf"',
    ]);
    assert.equal(reuse.stdout, `Accessory store Host: ${host(0)}\ngreeting=hello password=[REDACTED]\n`);
    // A new container gets the same volumes (and the env file).
    const fresh = ok([
      'accessory',
      'exec',
      'store',
      "sh -c 'cat /data/kept.txt /vol/kept.txt; echo $GREETING'",
    ]);
    assert.equal(fresh.stdout, `Accessory store Host: ${host(0)}\ndir\nvol\nhello\n`);
    assert.match(
      on(0, 'tail -n 5 .kamal/accapp-audit.log'),
      /Executed cmd 'sh -c .cat \/data\/kept.txt .*' on store accessory/,
    );
    const details = ok(['accessory', 'details', 'all']).stdout;
    assert.match(
      details,
      new RegExp(
        `^Accessory store Host: ${host(0).replace(/\./g, '\\.')}\nCONTAINER ID .*\n.*accapp-store\n`,
        'm',
      ),
    );
    assert.match(
      details,
      new RegExp(
        `^Accessory echo Host: ${host(1).replace(/\./g, '\\.')}\nCONTAINER ID .*\n.*accapp-echo\n`,
        'm',
      ),
    );
    const logs = ok(['accessory', 'logs', 'store', '-n', '5', '-T']).stdout;
    assert.equal(logs, `Accessory store Host: ${host(0)}\nstore started as ${host(0)}\n`);
    const grep = ok(['accessory', 'logs', 'store', '--grep', 'nothing-like-this']).stdout;
    assert.equal(grep, `Accessory store Host: ${host(0)}\nNothing found\n`);
  });

  test('stop takes a proxied accessory out of the proxy, start and restart bring it back', async () => {
    ok(['accessory', 'stop', 'echo']);
    assert.equal(on(1, 'docker inspect --format "{{.State.Running}}" accapp-echo'), 'false');
    // Out of the proxy: the request falls through to the app, the proxy's default route.
    assert.deepEqual(await echoSoon({ status: 200, body: 'app' }), { status: 200, body: 'app' });
    ok(['accessory', 'start', 'echo']);
    assert.deepEqual(await echoSoon({ status: 200, body: `acc echo on ${host(1)}` }), {
      status: 200,
      body: `acc echo on ${host(1)}`,
    });
    const started = on(1, 'docker inspect --format "{{.State.StartedAt}}" accapp-echo');
    ok(['accessory', 'restart', 'echo']);
    assert.notEqual(on(1, 'docker inspect --format "{{.State.StartedAt}}" accapp-echo'), started);
    assert.deepEqual(await echoSoon({ status: 200, body: `acc echo on ${host(1)}` }), {
      status: 200,
      body: `acc echo on ${host(1)}`,
    });
  });

  test('reboot replaces the container and keeps the data in its directory and volume', () => {
    const id = storeId();
    ok(['accessory', 'reboot', 'store']);
    assert.notEqual(storeId(), id);
    assert.equal(on(0, 'docker exec accapp-store cat /data/kept.txt /vol/kept.txt'), 'dir\nvol');
  });

  test('upgrade to a new tag (rolling, confirmed) keeps the data and reports the image before and after', () => {
    const refused = run(['accessory', 'upgrade', 'store', '--image', `${fleet.registry}/acc/node:2`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /nothing was changed: pass -y/);
    const result = ok([
      'accessory',
      'upgrade',
      'store',
      '--image',
      `${fleet.registry}/acc/node:2`,
      '--rolling',
      '-y',
    ]);
    assert.match(
      result.stdout,
      new RegExp(
        `^Accessory store Host: ${host(0).replace(/\./g, '\\.')}\nstore: ${fleet.registry}/acc/node:1 \\([0-9a-f]{12}\\) -> ${fleet.registry}/acc/node:2 \\([0-9a-f]{12}\\)\n$`,
      ),
    );
    assert.equal(
      on(0, 'docker inspect --format "{{.Config.Image}}" accapp-store'),
      `${fleet.registry}/acc/node:2`,
    );
    assert.equal(on(0, 'docker exec accapp-store cat /data/kept.txt /vol/kept.txt'), 'dir\nvol');
    // Once more: nothing changes, nothing restarts.
    const id = storeId();
    const again = ok(['accessory', 'upgrade', 'store', '--image', `${fleet.registry}/acc/node:2`, '-y']);
    assert.match(again.stdout, /store: already runs .*acc\/node:2 .*nothing to upgrade/);
    assert.equal(storeId(), id);
  });

  test('remove without -y in a non-interactive shell names what it would delete and deletes nothing; -y removes', () => {
    const refused = run(['accessory', 'remove', 'store']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /would delete accessory store on .*container accapp-store.*directory ~\/accapp-store\/data \(at \/data\).*left in place: volume accapp-store-vol \(at \/vol\).*nothing was changed: pass -y/,
    );
    assert.equal(on(0, 'docker inspect --format "{{.State.Running}}" accapp-store'), 'true');
    assert.equal(on(0, 'cat accapp-store/data/kept.txt'), 'dir');
    ok(['accessory', 'remove', 'store', '-y']);
    assert.equal(on(0, 'docker ps -a -q --filter label=service=accapp-store'), '');
    assert.equal(on(0, 'ls accapp-store 2>/dev/null || echo gone'), 'gone');
    // Named volumes are not deleted (as in Kamal), and the lock was released.
    assert.equal(on(0, 'docker volume ls -q --filter name=accapp-store-vol'), 'accapp-store-vol');
    assert.equal(ok(['lock', 'status']).stdout, 'There is no deploy lock\n');
  });
});
