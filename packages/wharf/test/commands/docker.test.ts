// Docker setup commands, checked against Kamal's test/commands/docker_test.rb and server_test.rb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerCommands, commandLine, dockerCommands } from '../../src/commands/index.js';
import { load } from './support.js';

test('docker install, checks and group membership', () => {
  assert.equal(
    commandLine(dockerCommands.install()),
    'sh -c \'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo "exit 1"\' | sh',
  );
  assert.equal(commandLine(dockerCommands.installed()), 'docker -v');
  assert.equal(commandLine(dockerCommands.running()), 'docker version');
  assert.equal(
    commandLine(dockerCommands.superuser()),
    '[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null',
  );
  assert.equal(commandLine(dockerCommands.root()), '[ "${EUID:-$(id -u)}" -eq 0 ]');
  assert.equal(commandLine(dockerCommands.inDockerGroup()), 'id -nG "${USER:-$(id -un)}" | grep -qw docker');
  assert.equal(
    commandLine(dockerCommands.addToDockerGroup()),
    'sudo -n usermod -aG docker "${USER:-$(id -un)}"',
  );
  assert.equal(commandLine(dockerCommands.refreshSession()), 'kill -HUP $PPID');
  assert.equal(commandLine(dockerCommands.createNetwork()), 'docker network create kamal');
});

test('server directories', async () => {
  const config = await load(
    {
      service: 'app',
      image: 'dhh/app',
      registry: { username: 'dhh', password: 'secret' },
      servers: ['1.1.1.1'],
      builder: { arch: 'amd64' },
    },
    { destination: 'staging' },
  );
  const s = new ServerCommands(config);
  assert.equal(commandLine(s.ensureRunDirectory()), 'mkdir -p .kamal');
  assert.equal(commandLine(s.removeAppDirectory()), 'rm -r .kamal/apps/app-staging');
  assert.equal(commandLine(s.appDirectoryCount()), 'ls .kamal/apps | wc -l');
});
