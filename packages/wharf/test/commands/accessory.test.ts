// Accessory commands, checked against Kamal's test/commands/accessory_test.rb and
// the accessory boot lines of test/cli/accessory_test.rb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessoryCommands, commandLine } from '../../src/commands/index.js';
import { UserError } from '../../src/util/errors.js';
import { clone, load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { server: 'private.registry', username: 'dhh', password: 'secret' },
  servers: ['1.1.1.1'],
  builder: { arch: 'amd64' },
  accessories: {
    mysql: {
      image: 'private.registry/mysql:8.0',
      host: '1.1.1.5',
      port: '3306',
      env: { clear: { MYSQL_ROOT_HOST: '%' }, secret: ['MYSQL_ROOT_PASSWORD'] },
      options: { cpus: '4', memory: '2GB' },
    },
    redis: {
      image: 'redis:latest',
      host: '1.1.1.6',
      port: '6379:6379',
      labels: { cache: 'true' },
      env: { SOMETHING: 'else' },
      volumes: ['/var/lib/redis:/data'],
    },
    busybox: {
      service: 'custom-busybox',
      image: 'busybox:latest',
      registry: { server: 'other.registry', username: 'user', password: 'pw' },
      host: '1.1.1.7',
      proxy: { host: 'busybox.example.com' },
    },
  },
};

async function accessory(name: string, raw: Raw = BASE): Promise<AccessoryCommands> {
  return new AccessoryCommands(await load(raw), name);
}
const line = commandLine;
function change(f: (accessories: Record<string, Raw>, raw: Raw) => void): Raw {
  const raw = clone(BASE);
  f(raw.accessories as Record<string, Raw>, raw);
  return raw;
}

test('run', async () => {
  assert.equal(
    line((await accessory('mysql')).run()),
    'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --label service="app-mysql" --cpus "4" --memory "2GB" private.registry/mysql:8.0',
  );
  assert.equal(
    line((await accessory('redis')).run()),
    'docker run --name app-redis --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 6379:6379 --env SOMETHING="else" --env-file .kamal/apps/app/env/accessories/redis.env --volume /var/lib/redis:/data --label service="app-redis" --label cache="true" redis:latest',
  );
  assert.equal(
    line((await accessory('busybox')).run()),
    'docker run --name custom-busybox --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --env-file .kamal/apps/app/env/accessories/busybox.env --label service="custom-busybox" other.registry/busybox:latest',
  );
});

test('run with logging config', async () => {
  const raw = change((_a, r) => {
    r.logging = { driver: 'local', options: { 'max-size': '100m', 'max-file': '3' } };
  });
  assert.equal(
    line((await accessory('busybox', raw)).run()),
    'docker run --name custom-busybox --detach --restart unless-stopped --network kamal --log-driver "local" --log-opt max-size="100m" --log-opt max-file="3" --env-file .kamal/apps/app/env/accessories/busybox.env --label service="custom-busybox" other.registry/busybox:latest',
  );
});

test('run with custom restart policy, in a custom network', async () => {
  const restart = change((a) => {
    (a.mysql!.options as Raw).restart = 'on-failure';
  });
  assert.equal(
    line((await accessory('mysql', restart)).run()),
    'docker run --name app-mysql --detach --restart on-failure --network kamal --log-opt max-size="10m" --publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --label service="app-mysql" --cpus "4" --memory "2GB" private.registry/mysql:8.0',
  );
  const network = change((a) => {
    a.mysql!.network = 'custom';
  });
  assert.equal(
    line((await accessory('mysql', network)).run()),
    'docker run --name app-mysql --detach --restart unless-stopped --network custom --log-opt max-size="10m" --publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --label service="app-mysql" --cpus "4" --memory "2GB" private.registry/mysql:8.0',
  );
});

test('boot with files and directories (Kamal cli/accessory_test "boot")', async () => {
  const raw: Raw = {
    service: 'app',
    image: 'dhh/app',
    registry: { username: 'dhh', password: 'secret' },
    servers: ['1.1.1.1'],
    builder: { arch: 'amd64' },
    accessories: {
      mysql: {
        image: 'mysql:5.7',
        registry: { server: 'private.registry', username: 'user', password: 'pw' },
        host: '1.1.1.3',
        port: 3306,
        env: { clear: { MYSQL_ROOT_HOST: '%' }, secret: ['MYSQL_ROOT_PASSWORD'] },
        files: ['test/fixtures/files/my.cnf:/etc/mysql/my.cnf'],
        directories: ['data:/var/lib/mysql'],
      },
    },
  };
  const a = await accessory('mysql', raw);
  assert.equal(
    line(a.run('1.1.1.3')),
    'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 3306:3306 --env KAMAL_HOST="1.1.1.3" --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf --volume $PWD/app-mysql/data:/var/lib/mysql --label service="app-mysql" private.registry/mysql:5.7',
  );
  const [file] = a.fileSteps();
  assert.ok(file);
  assert.deepEqual(
    file.steps.map((s) =>
      'command' in s
        ? line(s.command)
        : `upload ${s.upload.local.endsWith('/test/fixtures/files/my.cnf')} to ${s.upload.remote}`,
    ),
    [
      'mkdir -p app-mysql/etc/mysql',
      'upload true to app-mysql/etc/mysql/my.cnf',
      'chmod 755 app-mysql/etc/mysql/my.cnf',
    ],
  );
  assert.deepEqual(a.directoryCommands().map(line), ['mkdir -p $PWD/app-mysql/data']);
});

test('files and directories with mode and owner, absolute directory', async () => {
  const raw = change((a) => {
    a.mysql!.files = [
      {
        local: 'conf/init.sql.erb',
        remote: '/docker-entrypoint-initdb.d/init.sql',
        mode: '0640',
        owner: '1000:1000',
        options: 'ro',
      },
    ];
    a.mysql!.directories = [
      { local: 'data', remote: '/var/lib/mysql', mode: '0750', owner: '1000:1000' },
      '/srv/backups:/backups',
    ];
  });
  const a = await accessory('mysql', raw);
  const [file] = a.fileSteps();
  assert.ok(file);
  assert.equal(file.file.erb, true);
  assert.deepEqual(
    file.steps.map((s) => ('command' in s ? line(s.command) : `upload to ${s.upload.remote}`)),
    [
      'mkdir -p app-mysql/docker-entrypoint-initdb.d',
      'upload to app-mysql/docker-entrypoint-initdb.d/init.sql',
      'chmod 0640 app-mysql/docker-entrypoint-initdb.d/init.sql',
      'chown 1000:1000 app-mysql/docker-entrypoint-initdb.d/init.sql',
    ],
  );
  assert.deepEqual(a.directoryCommands().map(line), [
    'mkdir -p $PWD/app-mysql/data',
    'chmod 0750 $PWD/app-mysql/data',
    'chown 1000:1000 $PWD/app-mysql/data',
    'mkdir -p /srv/backups',
  ]);
  assert.match(
    line(a.run()),
    / --volume \$PWD\/app-mysql\/docker-entrypoint-initdb\.d\/init\.sql:\/docker-entrypoint-initdb\.d\/init\.sql:ro --volume \$PWD\/app-mysql\/data:\/var\/lib\/mysql --volume \/srv\/backups:\/backups /,
  );
});

test('start, stop, info', async () => {
  const a = await accessory('mysql');
  assert.equal(line(a.start()), 'docker container start app-mysql');
  assert.equal(line(a.stop()), 'docker container stop app-mysql');
  assert.equal(line(a.info()), 'docker ps --filter label=service=app-mysql');
  assert.equal(line(a.info({ all: true, quiet: true })), 'docker ps -a -q --filter label=service=app-mysql');
});

test('execute in new container (restart policy left out) and in the existing one', async () => {
  const a = await accessory('mysql');
  assert.equal(
    line(a.executeInNewContainer(['mysql', '-u', 'root'])),
    'docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --cpus "4" --memory "2GB" private.registry/mysql:8.0 mysql -u root',
  );
  const restart = change((acc) => {
    (acc.mysql!.options as Raw).restart = 'on-failure';
  });
  const cmd = line((await accessory('mysql', restart)).executeInNewContainer(['mysql', '-u', 'root']));
  assert.equal(
    cmd,
    'docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --cpus "4" --memory "2GB" private.registry/mysql:8.0 mysql -u root',
  );
  assert.doesNotMatch(cmd, /--restart/);
  assert.equal(
    line(a.executeInExistingContainer(['mysql', '-u', 'root'])),
    'docker exec app-mysql mysql -u root',
  );
});

test('execute over ssh on the first accessory host', async () => {
  const a = await accessory('mysql');
  assert.equal(
    line(a.executeInNewContainerOverSsh(['mysql', '-u', 'root'])),
    'ssh -t root@1.1.1.5 -p 22 \'docker run -it --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --cpus "4" --memory "2GB" private.registry/mysql:8.0 mysql -u root\'',
  );
  assert.equal(
    line(a.executeInExistingContainerOverSsh(['mysql', '-u', 'root'])),
    "ssh -t root@1.1.1.5 -p 22 'docker exec -it app-mysql mysql -u root'",
  );
  assert.equal(
    line(a.executeInExistingContainerOverSsh(['mysql', '-u', 'root'], { tty: false })),
    "ssh -t root@1.1.1.5 -p 22 'docker exec -i app-mysql mysql -u root'",
  );
});

test('logs (single spaces where Kamal doubles them: a deliberate difference)', async () => {
  const a = await accessory('mysql');
  assert.equal(line(a.logs()), 'docker logs app-mysql --timestamps 2>&1');
  // Kamal: "docker logs app-mysql  --since 5m  --tail 100 --timestamps 2>&1 | grep 'thing'"
  assert.equal(
    line(a.logs({ since: '5m', lines: 100, grep: 'thing' })),
    "docker logs app-mysql --since 5m --tail 100 --timestamps 2>&1 | grep 'thing'",
  );
  assert.equal(
    line(a.logs({ since: '5m', lines: 100, grep: 'thing', grepOptions: '-C 2' })),
    "docker logs app-mysql --since 5m --tail 100 --timestamps 2>&1 | grep 'thing' -C 2",
  );
  assert.equal(
    line(a.logs({ timestamps: false, since: '5m', lines: 100, grep: 'thing', grepOptions: '-C 2' })),
    "docker logs app-mysql --since 5m --tail 100 2>&1 | grep 'thing' -C 2",
  );
});

test('follow logs', async () => {
  const a = await accessory('mysql');
  assert.equal(
    line(a.followLogs()),
    "ssh -t root@1.1.1.5 -p 22 'docker logs app-mysql --timestamps --tail 10 --follow 2>&1'",
  );
  assert.equal(
    line(a.followLogs({ timestamps: false })),
    "ssh -t root@1.1.1.5 -p 22 'docker logs app-mysql --tail 10 --follow 2>&1'",
  );
  assert.equal(
    line(a.followLogs({ grep: 'thing' })),
    'ssh -t root@1.1.1.5 -p 22 \'docker logs app-mysql --timestamps --tail 10 --follow 2>&1 | grep "thing"\'',
  );
});

test('remove container, pull and remove image, service directory', async () => {
  const a = await accessory('mysql');
  assert.equal(line(a.removeContainer()), 'docker container prune --force --filter label=service=app-mysql');
  assert.equal(line(a.pullImage()), 'docker image pull private.registry/mysql:8.0');
  assert.equal(line(a.removeImage()), 'docker image rm --force private.registry/mysql:8.0');
  assert.equal(line(a.removeServiceDirectory()), 'rm -rf app-mysql');
  assert.equal(line(a.ensureEnvDirectory()), 'mkdir -p .kamal/apps/app/env/accessories');
  assert.equal(
    line(a.containerId({ onlyRunning: true })),
    "docker container ls --filter 'name=^app-mysql$' --quiet",
  );
});

test('env file of an accessory', async () => {
  const a = await accessory('mysql');
  assert.deepEqual(
    a.envFile(() => 'secret123'),
    {
      path: '.kamal/apps/app/env/accessories/mysql.env',
      content: 'MYSQL_ROOT_PASSWORD=secret123\n',
      mode: '0600',
    },
  );
  assert.ok(!line(a.run()).includes('secret123'));
});

test('deploy to and remove from the proxy', async () => {
  const a = await accessory('busybox');
  assert.equal(
    line(a.deploy('172.1.0.2')),
    'docker exec kamal-proxy kamal-proxy deploy custom-busybox --target="172.1.0.2:80" --host="busybox.example.com" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"',
  );
  assert.equal(line(a.remove()), 'docker exec kamal-proxy kamal-proxy remove custom-busybox');
  await assert.rejects(async () => (await accessory('mysql')).deploy('x'), UserError);
});

test('an unknown accessory names the ones there are', async () => {
  const config = await load(BASE);
  assert.throws(
    () => new AccessoryCommands(config, 'hello'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === "No accessory by the name of 'hello' (options: mysql, redis, and busybox)",
  );
});
