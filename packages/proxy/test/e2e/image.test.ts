/**
 * The wharf-proxy image, built with plain `docker build` on the local fleet's
 * engine from the context scripts/image-context.mjs stages, then used the way
 * Kamal uses kamal-proxy: `docker run ... kamal-proxy run` with the
 * kamal-proxy-config volume, `docker exec kamal-proxy kamal-proxy deploy ...`,
 * and a recreated container that serves again from the saved state.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const WHARF_BIN = fileURLToPath(new URL('../../../../wharf/dist/src/bin.js', import.meta.url));
const CONTEXT_SCRIPT = fileURLToPath(new URL('../../../scripts/image-context.mjs', import.meta.url));
const FLEET = { name: 'proxyimg', registryPort: '5631' };
const PREFIX = `proxyimg-e2e-${process.pid}`;
const IMAGE = `wharf-proxy:e2e-${process.pid}`;
const NETWORK = `${PREFIX}-net`;
const VOLUME = `${PREFIX}-config`;
const APP = `${PREFIX}-app`;
const PROXY = `${PREFIX}-proxy`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let env: NodeJS.ProcessEnv;
let contextDir: string;
let nodeBase = 'wharf/node:bookworm';
let build: Run | undefined;
let buildMs = 0;

function run(file: string, args: string[], timeoutMs = 300_000): Run {
  const result = spawnSync(file, args, { env, encoding: 'utf8', timeout: timeoutMs });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function docker(args: string[], timeoutMs?: number): Run {
  return run('docker', args, timeoutMs);
}

function dockerOk(args: string[], timeoutMs?: number): string {
  const result = docker(args, timeoutMs);
  assert.equal(result.code, 0, `docker ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}

function cleanupContainers(): void {
  docker(['rm', '-f', PROXY, APP]);
  docker(['volume', 'rm', '-f', VOLUME]);
  docker(['network', 'rm', NETWORK]);
}

before(() => {
  const up = spawnSync(
    process.execPath,
    [
      WHARF_BIN,
      'fleet',
      'up',
      '--name',
      FLEET.name,
      '--servers',
      '1',
      '--registry-port',
      FLEET.registryPort,
      '--json',
    ],
    { encoding: 'utf8', timeout: 900_000 },
  );
  assert.equal(up.status, 0, `wharf fleet up --name ${FLEET.name} failed: ${up.stderr}`);
  const fleet = JSON.parse(up.stdout) as { docker_host: string; base_images: { node: string } };
  nodeBase = fleet.base_images.node;
  env = { ...process.env, DOCKER_HOST: fleet.docker_host };
  contextDir = mkdtempSync(join(tmpdir(), 'wharf-proxy-image-'));
  const staged = run(process.execPath, [CONTEXT_SCRIPT, '--out', contextDir]);
  assert.equal(staged.code, 0, `image-context.mjs failed: ${staged.stderr}`);
  cleanupContainers();
  const started = performance.now();
  build = docker(['build', '-q', '-t', IMAGE, '--build-arg', `BASE=${nodeBase}`, contextDir], 600_000);
  buildMs = Math.round(performance.now() - started);
  assert.equal(
    build.code,
    0,
    `docker build -t ${IMAGE} --build-arg BASE=${nodeBase} failed: ${build.stderr}`,
  );
});

after(() => {
  cleanupContainers();
  docker(['rmi', '-f', IMAGE]);
  rmSync(contextDir, { recursive: true, force: true });
  spawnSync(process.execPath, [WHARF_BIN, 'fleet', 'down', '--name', FLEET.name], {
    encoding: 'utf8',
    timeout: 300_000,
  });
});

test('the image builds with plain docker build from a base image argument', (t) => {
  assert.equal(build?.code, 0);
  const size = Number(dockerOk(['image', 'inspect', '-f', '{{.Size}}', IMAGE]));
  t.diagnostic(`image built in ${buildMs} ms, ${(size / 1e6).toFixed(1)} MB`);
  const config = JSON.parse(dockerOk(['image', 'inspect', '-f', '{{json .Config}}', IMAGE])) as {
    User: string;
    Volumes: Record<string, unknown>;
    Cmd: string[];
  };
  assert.equal(config.User, 'wharf-proxy:wharf-proxy');
  assert.deepEqual(Object.keys(config.Volumes), ['/home/kamal-proxy/.config/kamal-proxy']);
  assert.deepEqual(config.Cmd, ['wharf-proxy', 'run']);
});

test('it runs as a non-root user whose state folder is the kamal-proxy one', () => {
  const out = dockerOk([
    'run',
    '--rm',
    IMAGE,
    'sh',
    '-c',
    'id -u; id -un; echo $HOME; readlink -f /home/kamal-proxy/.config/kamal-proxy; test -w ~/.config/kamal-proxy && echo writable',
  ]);
  const [uid, user, home, resolved, writable] = out.split('\n');
  assert.notEqual(uid, '0');
  assert.equal(user, 'wharf-proxy');
  assert.equal(home, '/home/wharf-proxy');
  assert.equal(resolved, '/home/wharf-proxy/.config/kamal-proxy');
  assert.equal(writable, 'writable');
});

test('it answers to both kamal-proxy and wharf-proxy', () => {
  for (const name of ['kamal-proxy', 'wharf-proxy']) {
    const help = docker(['run', '--rm', IMAGE, name, '--help']);
    assert.equal(help.code, 0, `${name} --help failed: ${help.stderr}`);
    for (const command of ['run', 'deploy', 'remove', 'list', 'pause', 'resume', 'stop', 'rollout']) {
      assert.match(
        help.stdout + help.stderr,
        new RegExp(`\\b${command}\\b`),
        `${name} --help lists ${command}`,
      );
    }
  }
});

function publishedPort(container: string): number {
  const mapping = dockerOk(['port', container, '80/tcp']).split('\n')[0]!;
  return Number(mapping.slice(mapping.lastIndexOf(':') + 1));
}

async function waitForHttp(port: number, timeoutMs: number): Promise<Response> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // A referenced timer: AbortSignal.timeout's is unref'd and would let the test's event loop drain.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 1000);
    try {
      return await fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
    } catch (error) {
      if (performance.now() > deadline)
        throw new Error(`nothing answered on 127.0.0.1:${port}: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 5));
    } finally {
      clearTimeout(timer);
    }
  }
}

function startProxyContainer(): number {
  dockerOk([
    'create',
    '--name',
    PROXY,
    '--network',
    NETWORK,
    '--volume',
    `${VOLUME}:/home/kamal-proxy/.config/kamal-proxy`,
    '--publish',
    '127.0.0.1::80',
    IMAGE,
    'kamal-proxy',
    'run',
  ]);
  const started = performance.now();
  dockerOk(['start', PROXY]);
  startCommandMs = Math.round(performance.now() - started);
  return publishedPort(PROXY);
}

let startCommandMs = 0;

test('started like Kamal starts kamal-proxy, it serves a deployed app and keeps it across a restart', async (t) => {
  dockerOk(['network', 'create', NETWORK]);
  dockerOk([
    'run',
    '--detach',
    '--name',
    APP,
    '--network',
    NETWORK,
    '--network-alias',
    'app',
    nodeBase,
    'node',
    '-e',
    "require('http').createServer((q, s) => s.end(q.url === '/up' ? 'up' : 'hello from app')).listen(3000)",
  ]);

  const started = performance.now();
  const port = startProxyContainer();
  const first = await waitForHttp(port, 10_000);
  const startMs = Math.round(performance.now() - started);
  await first.arrayBuffer();
  t.diagnostic(
    `start: \`docker start\` took ${startCommandMs} ms; first HTTP answer ${startMs} ms after it began (status ${first.status} with no service)`,
  );
  // The proxy's own start: container process start (State.StartedAt) to its "Server started" log line.
  const startedAt = Date.parse(dockerOk(['inspect', '-f', '{{.State.StartedAt}}', PROXY]));
  const logs = docker(['logs', PROXY]);
  const ready = `${logs.stdout}\n${logs.stderr}`.split('\n').find((l) => l.includes('Server started'));
  if (ready) {
    const readyAt = Date.parse((JSON.parse(ready) as { time: string }).time);
    t.diagnostic(`wharf-proxy run: process start to "Server started" in ${readyAt - startedAt} ms`);
  }
  const cli = dockerOk([
    'exec',
    PROXY,
    'sh',
    '-c',
    'a=$(date +%s%N); kamal-proxy list >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000000 ))',
  ]);
  t.diagnostic(`\`docker exec ... kamal-proxy list\` runs in ${cli} ms inside the container`);
  assert.equal(first.status, 404, 'no service deployed yet');

  const deploy = docker([
    'exec',
    PROXY,
    'kamal-proxy',
    'deploy',
    'app-web',
    '--target',
    'app:3000',
    '--deploy-timeout',
    '20s',
  ]);
  assert.equal(deploy.code, 0, `kamal-proxy deploy failed: ${deploy.stderr || deploy.stdout}`);
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'hello from app');
  const list = dockerOk(['exec', PROXY, 'kamal-proxy', 'list']);
  assert.match(list, /app-web/);
  assert.match(list, /app:3000/);

  // A new container on the same volume restores the service without another deploy.
  dockerOk(['rm', '-f', PROXY]);
  const again = startProxyContainer();
  const restored = await waitForHttp(again, 10_000);
  assert.equal(restored.status, 200);
  assert.equal(await restored.text(), 'hello from app');
  const stateFiles = dockerOk(['run', '--rm', '-v', `${VOLUME}:/state`, nodeBase, 'ls', '/state']);
  assert.match(stateFiles, /kamal-proxy\.state/);
});
