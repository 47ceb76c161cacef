// Pruning, checked against Kamal's test/commands/prune_test.rb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PruneCommands, commandLine } from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: ['1.1.1.1'],
  builder: { arch: 'amd64' },
};

async function prune(destination?: string): Promise<PruneCommands> {
  return new PruneCommands(await load(BASE, { version: '123', destination }));
}

test('dangling images', async () => {
  assert.equal(
    commandLine((await prune()).danglingImages()),
    'docker image prune --force --filter label=service=app',
  );
});

test('tagged images', async () => {
  assert.equal(
    commandLine((await prune()).taggedImages()),
    "docker image ls --filter label=service=app --format '{{.ID}} {{.Repository}}:{{.Tag}}' | grep -v -w \"$(docker container ls -a --format '{{.Image}}\\|' --filter label=service=app | tr -d '\\n')dhh/app:latest\\|dhh/app:<none>\" | while read image tag; do docker rmi $tag; done",
  );
});

test('tagged images keep latest-<destination>', async () => {
  assert.match(
    commandLine((await prune('staging')).taggedImages()),
    /dhh\/app:latest-staging\\\|dhh\/app:<none>"/,
  );
});

test('app containers', async () => {
  const p = await prune();
  assert.equal(
    commandLine(p.appContainers(5)),
    'docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter status=dead | tail -n +6 | while read container_id; do docker rm $container_id; done',
  );
  assert.equal(
    commandLine(p.appContainers(3)),
    'docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter status=dead | tail -n +4 | while read container_id; do docker rm $container_id; done',
  );
  assert.throws(() => p.appContainers(0), /at least 1/);
});
