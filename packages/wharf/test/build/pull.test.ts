/** Pull steps for servers, and the parallel pull with mirror seeding over an injected remote exec. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { planPull, pullOnHosts, stepText, validateImageStep, type RemoteExec } from '../../src/build/pull.js';
import { UserError } from '../../src/util/errors.js';

const hub = {
  image: 'dhh/app:123',
  service: 'app',
  registry: { server: 'hub.docker.com', username: 'dhh', password: 's3cret-pw' },
};

describe('pull planning', () => {
  test("validate image is Kamal's command", () => {
    assert.equal(
      stepText(validateImageStep({ image: 'dhh/app:123', service: 'app' })),
      "docker inspect -f '{{ .Config.Labels.service }}' dhh/app:123 | grep -x app || (echo \"Image dhh/app:123 is missing the 'service' label\" && exit 1)",
    );
  });

  test('login with the password through the environment, then clean, pull, validate', () => {
    const steps = planPull(hub);
    assert.deepEqual(steps.map(stepText), [
      'printf \'%s\\n\' "$WHARF_REGISTRY_PASSWORD" | docker login hub.docker.com -u "$WHARF_REGISTRY_USERNAME" --password-stdin',
      'docker image rm --force dhh/app:123',
      'docker pull dhh/app:123',
      "docker inspect -f '{{ .Config.Labels.service }}' dhh/app:123 | grep -x app || (echo \"Image dhh/app:123 is missing the 'service' label\" && exit 1)",
    ]);
    assert.deepEqual(steps[0]!.env, { WHARF_REGISTRY_USERNAME: 'dhh', WHARF_REGISTRY_PASSWORD: 's3cret-pw' });
    for (const step of steps) assert.ok(!stepText(step).includes('s3cret-pw'));
    assert.equal(steps[1]!.mayFail, true);
  });

  test('the login line really logs in with the env password (run by sh with a fake docker)', () => {
    const steps = planPull(hub);
    const fakeDocker = 'docker() { read -r pw; echo "login $* pw=$pw"; }';
    const result = spawnSync('sh', ['-c', `${fakeDocker}\n${stepText(steps[0]!)}`], {
      env: { PATH: process.env.PATH, ...steps[0]!.env },
      encoding: 'utf8',
    });
    assert.equal(result.stdout.trim(), 'login login hub.docker.com -u dhh --password-stdin pw=s3cret-pw');
  });

  test('local registry: no login; Docker Hub: no server argument', () => {
    const local = planPull({
      image: 'localhost:5641/app:1',
      service: 'app',
      registry: { server: 'localhost:5641' },
    });
    assert.deepEqual(
      local.map((s) => s.step),
      ['remove the old image', 'pull the image', "check the image's service label"],
    );
    const dockerHub = planPull({
      image: 'dhh/app:1',
      service: 'app',
      registry: { username: 'u', password: 'p' },
    });
    assert.equal(
      stepText(dockerHub[0]!),
      `printf '%s\\n' "$WHARF_REGISTRY_PASSWORD" | docker login -u "$WHARF_REGISTRY_USERNAME" --password-stdin`,
    );
  });

  test('missing credentials and bad names are one-sentence errors', () => {
    assert.throws(
      () => planPull({ ...hub, registry: { server: 'ghcr.io', username: 'x' } }),
      /registry.username and registry.password are required to log in to ghcr.io/,
    );
    assert.throws(() => planPull({ ...hub, image: 'dhh/app:1; rm -rf /' }), UserError);
    assert.throws(() => planPull({ ...hub, service: 'a b' }), UserError);
  });
});

/** A recording exec: every host answers 0 unless told otherwise. */
function recorder(
  options: {
    mirrors?: Record<string, string>;
    fail?: (host: string, text: string) => string | undefined;
  } = {},
) {
  const calls: { host: string; text: string; env?: Record<string, string> }[] = [];
  const exec: RemoteExec = async (host, command, opts) => {
    const text = stepText({ step: opts.step, command });
    calls.push({ host, text, ...(opts.env ? { env: opts.env } : {}) });
    await new Promise((r) => setTimeout(r, 1));
    if (text.startsWith('docker info')) {
      const mirror = options.mirrors?.[host];
      return mirror
        ? { code: 0, stdout: `${mirror}\n`, stderr: '' }
        : { code: 1, stdout: '', stderr: 'error calling index: reflect: slice index out of range' };
    }
    const err = options.fail?.(host, text);
    return err ? { code: 1, stdout: '', stderr: err } : { code: 0, stdout: '', stderr: '' };
  };
  return { calls, exec };
}

describe('pullOnHosts', () => {
  test('runs every step on every host, in order per host', async () => {
    const { calls, exec } = recorder();
    await pullOnHosts(['h1'], { ...hub, registry: { server: 'localhost:5000' } }, exec);
    assert.deepEqual(
      calls.map((c) => c.text.split(' ').slice(0, 3).join(' ')),
      ['docker image rm', 'docker pull dhh/app:123', 'docker inspect -f'],
    );
  });

  test('seeds each mirror from one host first, then the rest', async () => {
    const { calls, exec } = recorder({ mirrors: { h1: 'http://m1', h2: 'http://m1', h3: 'http://m2' } });
    const log: string[] = [];
    await pullOnHosts(['h1', 'h2', 'h3', 'h4'], hub, exec, { log: (l) => log.push(l) });
    const pulls = calls.filter((c) => c.text.startsWith('docker pull')).map((c) => c.host);
    assert.equal(pulls.length, 4);
    // The seeding hosts (one per mirror) pull before any other host.
    const seeds = new Set(pulls.slice(0, 2));
    assert.ok(seeds.has('h3'));
    assert.ok(seeds.has('h1') || seeds.has('h2'));
    assert.ok(pulls.slice(2).includes('h4'));
    assert.match(log[0]!, /^Pulling image on .* to seed the mirrors\.\.\.$/);
  });

  test('a failing host is reported in one sentence after the others finish', async () => {
    const { calls, exec } = recorder({
      fail: (host, text) =>
        host === 'h2' && text.startsWith('docker pull')
          ? 'Error response from daemon: manifest unknown'
          : undefined,
    });
    await assert.rejects(
      pullOnHosts(['h1', 'h2', 'h3'], { ...hub, registry: { server: 'localhost:5000' } }, exec),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === 'Could not pull the image on h2: Error response from daemon: manifest unknown.',
    );
    assert.equal(calls.filter((c) => c.text.startsWith('docker inspect')).length, 2);
  });

  test('several failing hosts are summed up in one sentence', async () => {
    const { exec } = recorder({
      fail: (_h, text) =>
        text.startsWith('docker inspect') ? "Image dhh/app:123 is missing the 'service' label" : undefined,
    });
    await assert.rejects(
      pullOnHosts(['h1', 'h2'], { ...hub, registry: { server: 'localhost:5000' } }, exec),
      /^UserError: Pulling the image failed on 2 hosts: Could not check the image's service label on h1: Image dhh\/app:123 is missing the 'service' label; Could not/,
    );
  });

  test('a failed clean does not stop the pull', async () => {
    const { calls, exec } = recorder({
      fail: (_h, text) => (text.startsWith('docker image rm') ? 'No such image' : undefined),
    });
    await pullOnHosts(['h1'], { ...hub, registry: { server: 'localhost:5000' } }, exec);
    assert.equal(calls.length, 3);
  });
});

describe('registryForwardPort', () => {
  test('local registry needs its port forwarded, a real one does not', async () => {
    const { registryForwardPort } = await import('../../src/build/pull.js');
    assert.equal(registryForwardPort({ server: 'localhost:5641' }), 5641);
    assert.equal(registryForwardPort({ server: 'ghcr.io' }), undefined);
    assert.equal(registryForwardPort({}), undefined);
  });
});

describe('pullPhase', () => {
  const config = (server: string | undefined) => ({
    service: 'app',
    repository: server ? `${server}/app` : 'dhh/app',
    version: '7',
    registry: {
      server,
      username: (lookup: (n: string) => string) => lookup('USER'),
      password: (lookup: (n: string) => string) => lookup('PASS'),
    },
    builder: { raw: {} },
  });
  const lookup = (name: string) => ({ USER: 'u', PASS: 'p' })[name] ?? '';

  test('a localhost registry pulls inside the port forward, without login', async () => {
    const { pullPhase } = await import('../../src/build/phases.js');
    const { calls, exec } = recorder();
    const forwards: { hosts: readonly string[]; port: number }[] = [];
    await pullPhase({
      config: config('localhost:5000'),
      lookup,
      hosts: ['h1', 'h2'],
      exec,
      withRemoteForward: async (hosts, options, fn) => {
        forwards.push({ hosts, port: options.remotePort });
        const before = calls.length;
        const result = await fn();
        assert.ok(calls.length > before);
        return result;
      },
    });
    assert.deepEqual(forwards, [{ hosts: ['h1', 'h2'], port: 5000 }]);
    assert.ok(!calls.some((c) => c.text.includes('login')));
    assert.equal(calls.filter((c) => c.text === 'docker pull localhost:5000/app:7').length, 2);
  });

  test('a real registry logs in with looked-up credentials and needs no forward', async () => {
    const { pullPhase } = await import('../../src/build/phases.js');
    const { calls, exec } = recorder();
    await pullPhase({
      config: config('ghcr.io'),
      lookup,
      hosts: ['h1'],
      exec,
      withRemoteForward: () => {
        throw new Error('no forward expected');
      },
    });
    assert.deepEqual(calls[0]!.env, { WHARF_REGISTRY_USERNAME: 'u', WHARF_REGISTRY_PASSWORD: 'p' });
    assert.equal(calls[2]!.text, 'docker pull ghcr.io/app:7');
  });
});
