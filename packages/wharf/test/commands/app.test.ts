// App container commands, checked against every applicable assertion of
// Kamal's test/commands/app_test.rb (config built through wharf's loader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AppCommands,
  commandLine,
  containerHostname,
  defaultLogLines,
  staleVersions,
  type Command,
} from '../../src/commands/index.js';
import { UserError } from '../../src/util/errors.js';
import { clone, load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: { web: ['1.1.1.1'], workers: ['1.1.1.2'] },
  env: { secret: ['RAILS_MASTER_KEY'] },
  builder: { arch: 'amd64' },
};

async function app(
  options: { raw?: Raw; destination?: string; role?: string; host?: string; extra?: Raw } = {},
): Promise<AppCommands> {
  const config = await load(
    { ...(options.raw ?? BASE), ...(options.extra ?? {}) },
    { destination: options.destination },
  );
  return new AppCommands(config, { role: options.role ?? 'web', host: options.host ?? '1.1.1.1' });
}

function with_(changes: (raw: Raw) => void): Raw {
  const raw = clone(BASE);
  changes(raw);
  return raw;
}

const line = (c: Command) => commandLine(c);

// The current-container lookup Kamal uses for stop/logs (role web, no destination).
const CURRENT_WEB =
  "sh -c 'docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\\''{{.ID}}'\\'') ; docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting' | head -1";
const CURRENT_WORKERS = CURRENT_WEB.replaceAll('label=role=web', 'label=role=workers');
// The same lookup nested once more inside ssh's single quotes.
const CURRENT_WEB_OVER_SSH =
  "sh -c '\\''docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\\''\\'\\'''\\''{{.ID}}'\\''\\'\\'''\\'') ; docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting'\\'' | head -1";

test('run', async () => {
  assert.equal(
    line((await app()).run()),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with destination', async () => {
  assert.equal(
    line((await app({ destination: 'staging' })).run()),
    'docker run --detach --restart unless-stopped --name app-web-staging-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-staging-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env KAMAL_DESTINATION="staging" --env-file .kamal/apps/app-staging/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination="staging" dhh/app:999',
  );
});

test('run with hostname', async () => {
  assert.equal(
    line((await app()).run({ hostname: 'myhost' })),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --hostname myhost --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with volumes', async () => {
  assert.equal(
    line((await app({ extra: { volumes: ['/local/path:/container/path'] } })).run()),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --volume /local/path:/container/path --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with custom options (cmd, options with a value and a bare flag)', async () => {
  const raw = with_((r) => {
    r.servers = {
      web: ['1.1.1.1'],
      jobs: { hosts: ['1.1.1.2'], cmd: 'bin/jobs', options: { mount: 'somewhere', 'cap-add': true } },
    };
  });
  assert.equal(
    line((await app({ raw, role: 'jobs', host: '1.1.1.2' })).run()),
    'docker run --detach --restart unless-stopped --name app-jobs-999 --network kamal --env KAMAL_CONTAINER_NAME="app-jobs-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.2" --env-file .kamal/apps/app/env/roles/jobs.env --log-opt max-size="10m" --label service="app" --label role="jobs" --label destination --mount "somewhere" --cap-add dhh/app:999 bin/jobs',
  );
});

test('run with custom restart policy', async () => {
  const raw = with_((r) => {
    r.servers = { web: { hosts: ['1.1.1.1'], options: { restart: 'on-failure' } } };
  });
  assert.equal(
    line((await app({ raw })).run()),
    'docker run --detach --restart on-failure --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with logging config', async () => {
  assert.equal(
    line(
      (
        await app({
          extra: { logging: { driver: 'local', options: { 'max-size': '100m', 'max-file': '3' } } },
        })
      ).run(),
    ),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-driver "local" --log-opt max-size="100m" --log-opt max-file="3" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with role logging config merged over the root', async () => {
  const raw = with_((r) => {
    r.logging = { driver: 'local', options: { 'max-size': '10m', 'max-file': '3' } };
    r.servers = {
      web: { hosts: ['1.1.1.1'], logging: { driver: 'local', options: { 'max-size': '100m' } } },
    };
  });
  assert.equal(
    line((await app({ raw })).run()),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-driver "local" --log-opt max-size="100m" --log-opt max-file="3" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with host tags adds the tag env', async () => {
  const raw = with_((r) => {
    r.servers = [{ '1.1.1.1': 'tag1' }];
    (r.env as Raw).tags = { tag1: { ENV1: 'value1' } };
  });
  assert.equal(
    line((await app({ raw })).run()),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env ENV1="value1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('run with asset_path mounts the asset volume after the config volumes', async () => {
  const a = await app({ extra: { asset_path: '/public/assets', volumes: ['/v:/v'] } });
  assert.match(
    line(a.run()),
    / --volume \/v:\/v --volume \$PWD\/\.kamal\/apps\/app\/assets\/volumes\/web-999:\/public\/assets --label service="app"/,
  );
});

test('start', async () => {
  assert.equal(line((await app()).start()), 'docker start app-web-999');
  assert.equal(line((await app({ destination: 'staging' })).start()), 'docker start app-web-staging-999');
});

test('stop the current container', async () => {
  assert.equal(line((await app()).stop()), `${CURRENT_WEB} | xargs docker stop`);
});

test('stop with custom drain timeout: -t only for roles without proxy', async () => {
  const extra = { drain_timeout: 20 };
  assert.equal(line((await app({ extra })).stop()), `${CURRENT_WEB} | xargs docker stop`);
  assert.equal(
    line((await app({ extra, role: 'workers', host: '1.1.1.2' })).stop()),
    `${CURRENT_WORKERS} | xargs docker stop -t 20`,
  );
});

test('stop with stop_timeout per role', async () => {
  const raw = with_((r) => {
    r.servers = {
      web: { hosts: ['1.1.1.1'], stop_timeout: 30 },
      workers: { hosts: ['1.1.1.2'], cmd: 'bin/jobs', stop_timeout: 60 },
    };
  });
  assert.equal(line((await app({ raw })).stop()), `${CURRENT_WEB} | xargs docker stop -t 30`);
  assert.equal(
    line((await app({ raw, role: 'workers' })).stop()),
    `${CURRENT_WORKERS} | xargs docker stop -t 60`,
  );
});

test('stop with version', async () => {
  assert.equal(
    line((await app()).stop({ version: '123' })),
    "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker stop",
  );
});

test('info', async () => {
  assert.equal(
    line((await app()).info()),
    'docker ps --filter label=service=app --filter label=destination= --filter label=role=web',
  );
  assert.equal(
    line((await app({ destination: 'staging' })).info()),
    'docker ps --filter label=service=app --filter label=destination=staging --filter label=role=web',
  );
});

test('status of a version', async () => {
  assert.equal(
    line((await app()).status('123')),
    "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'",
  );
});

const PROXY_DEFAULTS =
  '--deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"';

test('deploy', async () => {
  assert.equal(
    line((await app()).deploy('172.1.0.2')),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" ${PROXY_DEFAULTS}`,
  );
});

test('deploy with SSL', async () => {
  assert.equal(
    line((await app({ extra: { proxy: { ssl: true, host: 'example.com' } } })).deploy('172.1.0.2')),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" --host="example.com" --tls ${PROXY_DEFAULTS}`,
  );
});

test('deploy with SSL targeting multiple hosts', async () => {
  assert.equal(
    line(
      (await app({ extra: { proxy: { ssl: true, hosts: ['example.com', 'anotherexample.com'] } } })).deploy(
        '172.1.0.2',
      ),
    ),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" --host="example.com" --host="anotherexample.com" --tls ${PROXY_DEFAULTS}`,
  );
});

test('deploy with SSL false', async () => {
  assert.equal(
    line((await app({ extra: { proxy: { ssl: false } } })).deploy('172.1.0.2')),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" ${PROXY_DEFAULTS}`,
  );
});

test('deploy with destination uses service-role-destination', async () => {
  assert.equal(
    line((await app({ destination: 'staging' })).deploy('abc')),
    `docker exec kamal-proxy kamal-proxy deploy app-web-staging --target="abc:80" ${PROXY_DEFAULTS}`,
  );
});

test('deploy with error pages points the proxy at this version', async () => {
  const a = await app({ extra: { error_pages_path: 'public' } });
  assert.equal(
    line(a.deploy('abc')),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="abc:80" ${PROXY_DEFAULTS} --error-pages="/home/kamal-proxy/.apps-config/app/error_pages/999"`,
  );
});

test('deploy for a role without proxy is refused with a sentence naming the role', async () => {
  const a = await app({ role: 'workers', host: '1.1.1.2' });
  assert.throws(
    () => a.deploy('abc'),
    (e: unknown) => e instanceof UserError && /Role workers does not run behind kamal-proxy/.test(e.message),
  );
});

test('remove from proxy', async () => {
  assert.equal(line((await app()).remove()), 'docker exec kamal-proxy kamal-proxy remove app-web');
});

test('logs', async () => {
  const a = await app();
  assert.equal(line(a.logs()), `${CURRENT_WEB} | xargs docker logs --timestamps 2>&1`);
  assert.equal(
    line(a.logs({ containerId: 'C137' })),
    "sh -c 'echo C137' | xargs docker logs --timestamps 2>&1",
  );
  assert.equal(
    line(a.logs({ since: '5m' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps --since 5m 2>&1`,
  );
  assert.equal(
    line(a.logs({ lines: '100' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps --tail 100 2>&1`,
  );
  assert.equal(
    line(a.logs({ since: '5m', lines: '100' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps --since 5m --tail 100 2>&1`,
  );
  assert.equal(
    line(a.logs({ grep: 'my-id' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps 2>&1 | grep 'my-id'`,
  );
  assert.equal(
    line(a.logs({ grep: 'my-id', grepOptions: '-C 2' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps 2>&1 | grep 'my-id' -C 2`,
  );
  assert.equal(
    line(a.logs({ since: '5m', grep: 'my-id', grepOptions: '-C 2' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps --since 5m 2>&1 | grep 'my-id' -C 2`,
  );
  assert.equal(
    line(a.logs({ since: '5m', grep: 'my-id' })),
    `${CURRENT_WEB} | xargs docker logs --timestamps --since 5m 2>&1 | grep 'my-id'`,
  );
});

test('logs of a version container (boot failure) and without timestamps', async () => {
  const a = await app();
  assert.equal(
    line(a.logs({ containerId: a.containerIdForVersion('999'), timestamps: false })),
    "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker logs 2>&1",
  );
});

test('logs grep pattern with a single quote stays one shell word (deliberate: Kamal does not escape it)', async () => {
  assert.match(line((await app()).logs({ grep: "it's" })), / \| grep 'it'\\''s'$/);
});

test('follow logs', async () => {
  const a = await app();
  assert.equal(
    line(a.followLogs({ host: 'app-1' })),
    `ssh -t root@app-1 -p 22 '${CURRENT_WEB_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1'`,
  );
  assert.equal(
    line(a.followLogs({ host: 'app-1', grep: 'Completed' })),
    `ssh -t root@app-1 -p 22 '${CURRENT_WEB_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1 | grep "Completed"'`,
  );
  assert.equal(
    line(a.followLogs({ host: 'app-1', containerId: 'ID321' })),
    "ssh -t root@app-1 -p 22 'sh -c '\\''echo ID321'\\'' | xargs docker logs --timestamps --follow 2>&1'",
  );
  assert.equal(
    line(a.followLogs({ host: 'app-1', lines: 123 })),
    `ssh -t root@app-1 -p 22 '${CURRENT_WEB_OVER_SSH} | xargs docker logs --timestamps --tail 123 --follow 2>&1'`,
  );
  assert.equal(
    line(a.followLogs({ host: 'app-1', lines: 123, grep: 'Completed' })),
    `ssh -t root@app-1 -p 22 '${CURRENT_WEB_OVER_SSH} | xargs docker logs --timestamps --tail 123 --follow 2>&1 | grep "Completed"'`,
  );
  assert.equal(
    line(a.followLogs({ host: 'app-1', timestamps: false, lines: 123, grep: 'Completed' })),
    `ssh -t root@app-1 -p 22 '${CURRENT_WEB_OVER_SSH} | xargs docker logs --tail 123 --follow 2>&1 | grep "Completed"'`,
  );
});

test('follow logs with ssh keys, proxy_command and config file', async () => {
  const tail = `'${CURRENT_WEB_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1'`;
  assert.equal(
    line((await app({ extra: { ssh: { keys: ['path_to_key.pem'] } } })).followLogs({ host: 'app-1' })),
    `ssh -i path_to_key.pem -t root@app-1 -p 22 ${tail}`,
  );
  assert.equal(
    line(
      (await app({ extra: { ssh: { proxy_command: 'ssh -W %h:%p user@proxy-server' } } })).followLogs({
        host: 'app-1',
      }),
    ),
    `ssh -o ProxyCommand='ssh -W %h:%p user@proxy-server' -t root@app-1 -p 22 ${tail}`,
  );
  assert.equal(
    line((await app({ extra: { ssh: { config: '~/.ssh/custom_config' } } })).followLogs({ host: 'app-1' })),
    `ssh -F ~/.ssh/custom_config -t root@app-1 -p 22 ${tail}`,
  );
});

const EXEC_NAME = /app-web-exec-999-[0-9a-f]{6}/.source;

test('execute in new container', async () => {
  const a = await app();
  assert.match(
    line(a.executeInNewContainer(['bin/rails', 'db:setup'])),
    new RegExp(
      `^docker run --rm --name ${EXEC_NAME} --network kamal --env-file \\.kamal/apps/app/env/roles/web\\.env --log-opt max-size="10m" dhh/app:999 bin/rails db:setup$`,
    ),
  );
  assert.equal(
    line(a.executeInNewContainer(['bin/rails', 'db:setup'], { name: 'fixed' })),
    'docker run --rm --name fixed --network kamal --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:999 bin/rails db:setup',
  );
});

test('execute in new container with logging', async () => {
  const a = await app({
    extra: { logging: { driver: 'local', options: { 'max-size': '100m', 'max-file': '3' } } },
  });
  assert.equal(
    line(a.executeInNewContainer(['bin/rails', 'db:setup'], { name: 'x' })),
    'docker run --rm --name x --network kamal --env-file .kamal/apps/app/env/roles/web.env --log-driver "local" --log-opt max-size="100m" --log-opt max-file="3" dhh/app:999 bin/rails db:setup',
  );
});

test('execute in new container with env', async () => {
  assert.equal(
    line((await app()).executeInNewContainer(['bin/rails', 'db:setup'], { env: { foo: 'bar' }, name: 'x' })),
    'docker run --rm --name x --network kamal --env-file .kamal/apps/app/env/roles/web.env --env foo="bar" --log-opt max-size="10m" dhh/app:999 bin/rails db:setup',
  );
});

test('execute in new detached container', async () => {
  assert.match(
    line((await app()).executeInNewContainer(['bin/rails', 'db:setup'], { detach: true })),
    new RegExp(
      `^docker run --detach --name ${EXEC_NAME} --network kamal --env-file \\.kamal/apps/app/env/roles/web\\.env --log-opt max-size="10m" dhh/app:999 bin/rails db:setup$`,
    ),
  );
});

test('execute in new container with tags', async () => {
  const raw = with_((r) => {
    r.servers = [{ '1.1.1.1': 'tag1' }];
    (r.env as Raw).tags = { tag1: { ENV1: 'value1' } };
  });
  assert.equal(
    line((await app({ raw })).executeInNewContainer(['bin/rails', 'db:setup'], { name: 'x' })),
    'docker run --rm --name x --network kamal --env ENV1="value1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:999 bin/rails db:setup',
  );
});

test('execute in new container with custom options, restart policy left out', async () => {
  const raw = with_((r) => {
    r.servers = {
      web: { hosts: ['1.1.1.1'], options: { restart: 'on-failure', mount: 'somewhere', 'cap-add': true } },
    };
  });
  const cmd = line((await app({ raw })).executeInNewContainer(['bin/rails', 'db:setup'], { name: 'x' }));
  assert.equal(
    cmd,
    'docker run --rm --name x --network kamal --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --mount "somewhere" --cap-add dhh/app:999 bin/rails db:setup',
  );
  assert.doesNotMatch(cmd, /--restart/);
});

test('execute in existing container', async () => {
  const a = await app();
  assert.equal(
    line(a.executeInExistingContainer(['bin/rails', 'db:setup'])),
    'docker exec app-web-999 bin/rails db:setup',
  );
  assert.equal(
    line(a.executeInExistingContainer(['bin/rails', 'db:setup'], { env: { foo: 'bar' } })),
    'docker exec --env foo="bar" app-web-999 bin/rails db:setup',
  );
});

test('execute over ssh: -it with a terminal, -i with piped input', async () => {
  const a = await app();
  assert.match(
    line(a.executeInNewContainerOverSsh(['bin/rails', 'c'])),
    new RegExp(
      `^ssh -t root@1\\.1\\.1\\.1 -p 22 'docker run -it --rm --name ${EXEC_NAME} --network kamal --env-file \\.kamal/apps/app/env/roles/web\\.env --log-opt max-size="10m" dhh/app:999 bin/rails c'$`,
    ),
  );
  assert.equal(
    line(a.executeInExistingContainerOverSsh(['bin/rails', 'c'])),
    "ssh -t root@1.1.1.1 -p 22 'docker exec -it app-web-999 bin/rails c'",
  );
  assert.equal(
    line(a.executeInExistingContainerOverSsh(['bin/rails', 'c'], { tty: false })),
    "ssh -t root@1.1.1.1 -p 22 'docker exec -i app-web-999 bin/rails c'",
  );
});

test('execute over ssh with tags and with custom options', async () => {
  const tagged = with_((r) => {
    r.servers = [{ '1.1.1.1': 'tag1' }];
    (r.env as Raw).tags = { tag1: { ENV1: 'value1' } };
  });
  assert.match(
    line((await app({ raw: tagged })).executeInNewContainerOverSsh(['bin/rails', 'c'])),
    /^ssh -t root@1\.1\.1\.1 -p 22 'docker run -it --rm --name app-web-exec-999-[0-9a-f]{6} --network kamal --env ENV1="value1" --env-file \.kamal\/apps\/app\/env\/roles\/web\.env --log-opt max-size="10m" dhh\/app:999 bin\/rails c'$/,
  );
  const custom = with_((r) => {
    r.servers = { web: { hosts: ['1.1.1.1'], options: { mount: 'somewhere', 'cap-add': true } } };
  });
  assert.match(
    line((await app({ raw: custom })).executeInNewContainerOverSsh(['bin/rails', 'c'])),
    /docker run -it --rm --name app-web-exec-999-[0-9a-f]{6} --network kamal --env-file \.kamal\/apps\/app\/env\/roles\/web\.env --log-opt max-size="10m" --mount "somewhere" --cap-add dhh\/app:999 bin\/rails c/,
  );
});

test('run over ssh: user, port, jump host, keys, proxy command, config files', async () => {
  const cases: [Raw | undefined, string][] = [
    [undefined, "ssh -t root@1.1.1.1 -p 22 'ls'"],
    [{ user: 'app' }, "ssh -t app@1.1.1.1 -p 22 'ls'"],
    [{ port: '2222' }, "ssh -t root@1.1.1.1 -p 2222 'ls'"],
    [{ proxy: '2.2.2.2' }, "ssh -J root@2.2.2.2 -t root@1.1.1.1 -p 22 'ls'"],
    [{ proxy: 'app@2.2.2.2' }, "ssh -J app@2.2.2.2 -t root@1.1.1.1 -p 22 'ls'"],
    [{ user: 'app', proxy: '2.2.2.2' }, "ssh -J root@2.2.2.2 -t app@1.1.1.1 -p 22 'ls'"],
    [{ keys: ['path_to_key.pem'] }, "ssh -i path_to_key.pem -t root@1.1.1.1 -p 22 'ls'"],
    [
      { keys: ['path_to_key.pem'], keys_only: true },
      "ssh -i path_to_key.pem -o IdentitiesOnly=yes -t root@1.1.1.1 -p 22 'ls'",
    ],
    [
      { proxy_command: 'ssh -W %h:%p user@proxy-server' },
      "ssh -o ProxyCommand='ssh -W %h:%p user@proxy-server' -t root@1.1.1.1 -p 22 'ls'",
    ],
    [{ config: '~/.ssh/custom_config' }, "ssh -F ~/.ssh/custom_config -t root@1.1.1.1 -p 22 'ls'"],
    [
      { config: ['~/.ssh/config1', '~/.ssh/config2'] },
      "ssh -F ~/.ssh/config1 -F ~/.ssh/config2 -t root@1.1.1.1 -p 22 'ls'",
    ],
    [{ config: false }, "ssh -F /dev/null -t root@1.1.1.1 -p 22 'ls'"],
    [{ config: true }, "ssh -t root@1.1.1.1 -p 22 'ls'"],
  ];
  const { runOverSsh } = await import('../../src/commands/index.js');
  for (const [ssh, expected] of cases) {
    const config = await load({ ...BASE, ...(ssh ? { ssh } : {}) });
    assert.equal(line(runOverSsh(config, 'ls', '1.1.1.1')), expected, JSON.stringify(ssh));
  }
});

test('current running container id', async () => {
  assert.equal(line((await app()).currentRunningContainerId()), CURRENT_WEB);
  assert.equal(
    line((await app({ destination: 'staging' })).currentRunningContainerId()),
    "sh -c 'docker ps --latest --quiet --filter label=service=app --filter label=destination=staging --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest-staging --format '\\''{{.ID}}'\\'') ; docker ps --latest --quiet --filter label=service=app --filter label=destination=staging --filter label=role=web --filter status=running --filter status=restarting' | head -1",
  );
});

test('container id for a name', async () => {
  const { containerIdFor } = await import('../../src/commands/index.js');
  assert.equal(
    line(containerIdFor('app-999')),
    "docker container ls --all --filter 'name=^app-999$' --quiet",
  );
  assert.equal(
    line(containerIdFor('app-999', { onlyRunning: true })),
    "docker container ls --filter 'name=^app-999$' --quiet",
  );
});

test('current running version', async () => {
  assert.equal(
    line((await app()).currentRunningVersion()),
    "sh -c 'docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\\''{{.ID}}'\\'') ; docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting' | head -1 | while read line; do echo ${line#app-web-}; done",
  );
});

test('list versions', async () => {
  const a = await app();
  assert.equal(
    line(a.listVersions()),
    'docker ps --filter label=service=app --filter label=destination= --filter label=role=web --format "{{.Names}}" | while read line; do echo ${line#app-web-}; done',
  );
  assert.equal(
    line(a.listVersions(['--latest'], { statuses: ['running', 'restarting'] })),
    'docker ps --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter status=restarting --latest --format "{{.Names}}" | while read line; do echo ${line#app-web-}; done',
  );
});

test('list containers and container names', async () => {
  assert.equal(
    line((await app()).listContainers()),
    'docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web',
  );
  assert.equal(
    line((await app({ destination: 'staging' })).listContainers()),
    'docker container ls --all --filter label=service=app --filter label=destination=staging --filter label=role=web',
  );
  assert.equal(
    line((await app()).listContainerNames()),
    "docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web --format '{{ .Names }}'",
  );
});

test('list containers without a role covers every role', async () => {
  const config = await load(BASE);
  assert.equal(
    line(new AppCommands(config).listContainers()),
    'docker container ls --all --filter label=service=app --filter label=destination=',
  );
});

test('remove container', async () => {
  assert.equal(
    line((await app()).removeContainer('999')),
    "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker container rm",
  );
  assert.equal(
    line((await app({ destination: 'staging' })).removeContainer('999')),
    "docker container ls --all --filter 'name=^app-web-staging-999$' --quiet | xargs docker container rm",
  );
});

test('remove containers', async () => {
  assert.equal(
    line((await app()).removeContainers()),
    'docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=web',
  );
  assert.equal(
    line((await app({ destination: 'staging' })).removeContainers()),
    'docker container prune --force --filter label=service=app --filter label=destination=staging --filter label=role=web',
  );
});

test('rename container and health log', async () => {
  const a = await app();
  assert.equal(
    line(a.renameContainer('999', '999_replaced_0123456789abcdef')),
    'docker rename app-web-999 app-web-999_replaced_0123456789abcdef',
  );
  assert.equal(
    line(a.containerHealthLog('999')),
    "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker inspect --format '{{json .State.Health}}'",
  );
});

test('images: list, remove, tag latest', async () => {
  const a = await app();
  assert.equal(line(a.listImages()), 'docker image ls dhh/app');
  assert.equal(line(a.removeImages()), 'docker image prune --all --force --filter label=service=app');
  assert.equal(
    line((await app({ destination: 'staging' })).removeImages()),
    'docker image prune --all --force --filter label=service=app',
  );
  assert.equal(line(a.tagLatestImage()), 'docker tag dhh/app:999 dhh/app:latest');
  assert.equal(
    line((await app({ destination: 'staging' })).tagLatestImage()),
    'docker tag dhh/app:999 dhh/app:latest-staging',
  );
});

test('extract assets (words as Kamal lists them)', async () => {
  const a = await app({ extra: { asset_path: '/public/assets' } });
  // prettier-ignore
  assert.deepEqual(a.extractAssets(), [
    'mkdir', '-p', '.kamal/apps/app/assets/extracted/web-999', '&&',
    'docker', 'container', 'rm', 'app-web-assets', '2> /dev/null', '|| true', '&&',
    'docker', 'container', 'create', '--name', 'app-web-assets', 'dhh/app:999', '&&',
    'docker', 'container', 'cp', '-L', 'app-web-assets:/public/assets/.', '.kamal/apps/app/assets/extracted/web-999', '&&',
    'docker', 'container', 'rm', 'app-web-assets',
  ]);
});

test('sync asset volumes, with and without an old version', async () => {
  const a = await app({ extra: { asset_path: '/public/assets' } });
  // prettier-ignore
  assert.deepEqual(a.syncAssetVolumes(), [
    'mkdir', '-p', '.kamal/apps/app/assets/volumes/web-999', ';',
    'cp', '-rnT', '.kamal/apps/app/assets/extracted/web-999', '.kamal/apps/app/assets/volumes/web-999',
  ]);
  // prettier-ignore
  assert.deepEqual(a.syncAssetVolumes({ oldVersion: '998' }), [
    'mkdir', '-p', '.kamal/apps/app/assets/volumes/web-999', ';',
    'cp', '-rnT', '.kamal/apps/app/assets/extracted/web-999', '.kamal/apps/app/assets/volumes/web-999', ';',
    'cp', '-rnT', '.kamal/apps/app/assets/extracted/web-999', '.kamal/apps/app/assets/volumes/web-998', '|| true', ';',
    'cp', '-rnT', '.kamal/apps/app/assets/extracted/web-998', '.kamal/apps/app/assets/volumes/web-999', '|| true',
  ]);
  // prettier-ignore
  assert.deepEqual(a.syncAssetVolumes({ oldVersion: '' }), a.syncAssetVolumes());
});

test('clean up assets', async () => {
  const a = await app({ extra: { asset_path: '/public/assets' } });
  // prettier-ignore
  assert.deepEqual(a.cleanUpAssets(), [
    'find', '.kamal/apps/app/assets/extracted', '-maxdepth 1', '-name', "'web-*'", '!', '-name', 'web-999', '-exec rm -rf "{}" +', ';',
    'find', '.kamal/apps/app/assets/volumes', '-maxdepth 1', '-name', "'web-*'", '!', '-name', 'web-999', '-exec rm -rf "{}" +',
  ]);
});

test('live and maintenance', async () => {
  const a = await app();
  assert.equal(line(a.live()), 'docker exec kamal-proxy kamal-proxy resume app-web');
  assert.equal(line(a.maintenance()), 'docker exec kamal-proxy kamal-proxy stop app-web');
  assert.equal(
    line(a.maintenance({ drainTimeout: 10, message: 'Hi' })),
    'docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="10s" --message="Hi"',
  );
  assert.equal(
    line(a.maintenance({ message: 'Back at 5 "soon"' })),
    'docker exec kamal-proxy kamal-proxy stop app-web --message="Back at 5 \\"soon\\""',
  );
});

test('remove proxy app directory, ssl directory', async () => {
  const a = await app();
  assert.equal(line(a.removeProxyAppDirectory()), 'rm -r .kamal/proxy/apps-config/app');
  assert.equal(line(a.createSslDirectory()), 'mkdir -p .kamal/proxy/apps-config/app/tls/web');
  assert.equal(
    line((await app({ destination: 'staging' })).removeProxyAppDirectory()),
    'rm -r .kamal/proxy/apps-config/app-staging',
  );
});

test('error pages directory and clean-up', async () => {
  const a = await app({ extra: { error_pages_path: 'public' } });
  assert.equal(line(a.createErrorPagesDirectory()), 'mkdir -p .kamal/proxy/apps-config/app/error_pages');
  assert.equal(
    line(a.cleanUpErrorPages()),
    'find .kamal/proxy/apps-config/app/error_pages -mindepth 1 -maxdepth 1 ! -name 999 -exec rm -rf {} +',
  );
});

test('env file: path, directory, content with secrets resolved now (never in a command)', async () => {
  const raw = with_((r) => {
    r.env = { clear: { PORT: '3000' }, secret: ['RAILS_MASTER_KEY', 'DB:DATABASE_PASSWORD'] };
  });
  const a = await app({ raw });
  assert.equal(line(a.ensureEnvDirectory()), 'mkdir -p .kamal/apps/app/env/roles');
  const secrets: Record<string, string> = { RAILS_MASTER_KEY: 'k3y"x', DATABASE_PASSWORD: 'pa$$ word' };
  const file = a.envFile((name) => secrets[name]!);
  assert.deepEqual(file, {
    path: '.kamal/apps/app/env/roles/web.env',
    content: 'RAILS_MASTER_KEY=k3y"x\nDB=pa$$ word\n',
    mode: '0600',
  });
  const run = line(a.run());
  for (const value of Object.values(secrets)) assert.ok(!run.includes(value));
  assert.match(run, /--env PORT="3000" --env-file \.kamal\/apps\/app\/env\/roles\/web\.env/);
});

test('custom certificate files for the role', async () => {
  const a = await app({
    extra: {
      proxy: { host: 'example.com', ssl: { certificate_pem: 'CERT_PEM', private_key_pem: 'KEY_PEM' } },
    },
  });
  const files = a.sslCertificateFiles((n) => `<${n}>`);
  assert.deepEqual(files, [
    { path: '.kamal/proxy/apps-config/app/tls/web/cert.pem', content: '<CERT_PEM>', mode: '0644' },
    { path: '.kamal/proxy/apps-config/app/tls/web/key.pem', content: '<KEY_PEM>', mode: '0644' },
  ]);
  assert.match(
    line(a.deploy('x')),
    /--tls --tls-certificate-path="\/home\/kamal-proxy\/\.apps-config\/app\/tls\/web\/cert\.pem" --tls-private-key-path="\/home\/kamal-proxy\/\.apps-config\/app\/tls\/web\/key\.pem"/,
  );
});

test('boot hostname: first 51 characters of the host, trailing dot dropped, 12 hex', () => {
  assert.equal(containerHostname('1.1.1.1', 'abcdef012345'), '1.1.1.1-abcdef012345');
  assert.equal(containerHostname('host.example.com.', 'abcdef012345'), 'host.example.com-abcdef012345');
  const long = `${'a'.repeat(50)}.example.com`;
  assert.equal(containerHostname(long, 'abcdef012345'), `${'a'.repeat(50)}-abcdef012345`);
  assert.match(containerHostname('h'), /^h-[0-9a-f]{12}$/);
  // Kamal cli/app_test "long hostname" and "hostname is trimmed if will end with a period".
  assert.match(
    containerHostname('this-hostname-is-really-unacceptably-long-to-be-honest.example.com'),
    /^this-hostname-is-really-unacceptably-long-to-be-hon-[0-9a-f]{12}$/,
  );
  assert.match(
    containerHostname('this-hostname-with-random-part-is-too-long.example.com'),
    /^this-hostname-with-random-part-is-too-long\.example-[0-9a-f]{12}$/,
  );
});

test('an unknown role is a UserError naming the roles', async () => {
  const config = await load(BASE);
  assert.throws(
    () => new AppCommands(config, { role: 'jobs' }),
    (e: unknown) => e instanceof UserError && /no role named jobs .*roles: web, workers/.test(e.message),
  );
});

test('app boot with --version: the config version drives names and image', async () => {
  const config = await load(BASE);
  config.version = '123';
  const a = new AppCommands(config, { role: 'web', host: '1.1.1.1' });
  assert.match(line(a.run()), /--name app-web-123 .* dhh\/app:123$/);
  assert.equal(line(a.tagLatestImage()), 'docker tag dhh/app:123 dhh/app:latest');
});

test('role proxy settings merged over the root proxy (Kamal cli/app_test "boot proxy with role specific config")', async () => {
  const raw: Raw = {
    service: 'app',
    image: 'dhh/app',
    servers: {
      web: { hosts: ['1.1.1.1', '1.1.1.2'] },
      web2: { hosts: ['1.1.1.3', '1.1.1.4'], proxy: { response_timeout: 15 } },
    },
    registry: { username: 'user', password: 'pw' },
    builder: { arch: 'amd64' },
    proxy: { response_timeout: 10 },
    readiness_delay: 0,
    deploy_timeout: 6,
  };
  const tail =
    '--buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"';
  assert.equal(
    line((await app({ raw })).deploy('123')),
    `docker exec kamal-proxy kamal-proxy deploy app-web --target="123:80" --deploy-timeout="6s" --drain-timeout="30s" --target-timeout="10s" ${tail}`,
  );
  assert.equal(
    line((await app({ raw, role: 'web2', host: '1.1.1.3' })).deploy('123')),
    `docker exec kamal-proxy kamal-proxy deploy app-web2 --target="123:80" --deploy-timeout="6s" --drain-timeout="30s" --target-timeout="15s" ${tail}`,
  );
});

test('boot of a clashing version (Kamal cli/app_test "boot proxy"): rename, run, deploy, stop the old one', async () => {
  const config = await load({ ...BASE, servers: ['1.1.1.1'] }, { version: 'latest' });
  const a = new AppCommands(config, { role: 'web', host: '1.1.1.1' });
  assert.match(
    line(a.renameContainer('latest', 'latest_replaced_0123456789abcdef')),
    /^docker rename app-web-latest app-web-latest_replaced_[0-9a-f]{16}$/,
  );
  assert.match(
    line(a.run({ hostname: containerHostname('1.1.1.1') })),
    /^docker run --detach --restart unless-stopped --name app-web-latest --network kamal --hostname 1\.1\.1\.1-[0-9a-f]{12} --env KAMAL_CONTAINER_NAME="app-web-latest" --env KAMAL_VERSION="latest" --env KAMAL_HOST="1\.1\.1\.1" --env-file \.kamal\/apps\/app\/env\/roles\/web\.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh\/app:latest$/,
  );
  assert.match(
    line(a.deploy('123')),
    /^docker exec kamal-proxy kamal-proxy deploy app-web --target="123:80"/,
  );
  assert.equal(
    line(a.stop({ version: '123' })),
    "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker stop",
  );
});

test('default log lines: 100, 10 when following, none with since or grep', () => {
  assert.equal(defaultLogLines({}), 100);
  assert.equal(defaultLogLines({ follow: true }), 10);
  assert.equal(defaultLogLines({ since: '5m' }), undefined);
  assert.equal(defaultLogLines({ grep: 'x', follow: true }), undefined);
  assert.equal(defaultLogLines({ lines: 7, grep: 'x' }), 7);
});

test('stale versions: listed versions except the current one', () => {
  assert.deepEqual(staleVersions('v1\nv2\nv3\n', 'v2\n'), ['v1', 'v3']);
  assert.deepEqual(staleVersions('', ''), []);
  assert.deepEqual(staleVersions('v1\n', ''), ['v1']);
});
