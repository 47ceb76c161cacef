/**
 * What the `wharf db` end-to-end tests share: the data-tier image (src/db/agent.ts)
 * built and pushed to the fleet's registry, a committed project directory, and
 * the repeated pieces of their deploy.yml.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dataTierImageFiles } from '../../src/db/agent.js';
import { dockerEnv, type TestFleet } from './fleet.js';

/** Builds the data-tier image as `image` and pushes it, then runs `more` docker commands (e.g. tag + push). */
export function pushDataTierImage(fleet: TestFleet, image: string, more: string[][] = []): void {
  const context = mkdtempSync(join(tmpdir(), 'wharf-db-image-'));
  for (const [name, text] of Object.entries(dataTierImageFiles(fleet.base_images.debian)))
    writeFileSync(join(context, name), text);
  for (const args of [['build', '-q', '-t', image, context], ['push', image], ...more]) {
    const r = spawnSync('docker', args, { env: dockerEnv(fleet), encoding: 'utf8', timeout: 900_000 });
    assert.equal(r.status, 0, r.stderr);
  }
}

/** A new directory holding `files` (relative paths), committed in a fresh git repository. */
export function committedProject(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['-c', 'user.email=t@wharf.invalid', '-c', 'user.name=t', 'commit', '-qm', 'db'],
  ])
    spawnSync('git', args, { cwd: dir });
  return dir;
}

/** The top of a test project's deploy.yml: service, app image, one web server, the fleet's registry and SSH key. */
export function projectHead(fleet: TestFleet, service: string, server: string): string {
  return `service: ${service}
image: ${service}-app
servers:
  - ${server}
registry:
  server: ${fleet.registry}
builder:
  arch: amd64
ssh:
  user: root
  keys:
    - ${fleet.ssh_key}
`;
}

/**
 * One Postgres accessory of the data-tier image, the YAML that follows `  NAME:`:
 * database `app`, user postgres, POSTGRES_PASSWORD from the secrets; `port`
 * publishes 5432 on the host's address, `agent` the health agent's 8008.
 */
export function pgAccessory(
  image: string,
  host: string,
  options: { volume?: string; port?: boolean; agent?: boolean; directories?: string[] } = {},
): string {
  const directories = [
    `${options.volume ?? 'data'}:/var/lib/postgresql/data`,
    ...(options.directories ?? []),
  ];
  return [
    '',
    `    image: ${image}`,
    `    host: ${host}`,
    ...(options.port === false ? [] : [`    port: "${host}:5432:5432"`]),
    '    env:',
    '      clear:',
    '        POSTGRES_USER: postgres',
    '        POSTGRES_DB: app',
    '      secret:',
    '        - POSTGRES_PASSWORD',
    '    directories:',
    ...directories.map((d) => `      - ${d}`),
    ...(options.agent ? ['    options:', `      publish: "${host}:8008:8008"`] : []),
  ].join('\n');
}
