import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configCommand, docsCommand } from '../../src/cli/config-command.js';
import { deployJsonSchema, sectionDocs, SECTION_NAMES } from '../../src/config/index.js';
import { rootShape } from '../../src/config/schema.js';
import { UserError } from '../../src/util/errors.js';
import { project } from './support/tmp.js';

async function capture(fn: () => Promise<unknown>): Promise<string> {
  const original = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = original;
  }
  return out;
}

test('docs: every section has documentation, and an unknown section is a clear error', async () => {
  for (const name of SECTION_NAMES) {
    const text = sectionDocs(name)!;
    assert.ok(text.length > 100, name);
    assert.match(text, /^# /);
  }
  const all = await capture(() => docsCommand().parseAsync(['node', 'docs'], { from: 'node' }));
  for (const key of Object.keys(rootShape))
    assert.match(all, new RegExp(`^${key}:`, 'm'), `root key ${key} is documented`);
  const proxy = await capture(() => docsCommand().parseAsync(['node', 'docs', 'proxy'], { from: 'node' }));
  assert.match(proxy, /healthcheck:\n.*\n\s+path: string/);
  await assert.rejects(
    docsCommand().parseAsync(['node', 'docs', 'nope'], { from: 'node' }),
    (e: unknown) => e instanceof UserError && /No documentation found for "nope"/.test((e as Error).message),
  );
});

test('config prints what kamal config prints, as Ruby-symbol YAML, with secrets redacted', async () => {
  const dir = project({
    'config/deploy.yml': `service: app
image: dhh/app
servers: [1.1.1.1, 1.1.1.2]
registry: {username: dhh, password: literal-password}
builder: {arch: amd64, secrets: [GITHUB_TOKEN], args: {COMMIT_SHA: abc}}
ssh: {key_data: [SSH_KEY]}
accessories:
  db:
    image: postgres
    host: 1.1.1.3
    env: {secret: [PG_PASSWORD]}
    registry: {server: r.example, username: u, password: other-literal}
`,
  });
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const out = await capture(() =>
      configCommand(() => ({ version: '999', configFile: 'config/deploy.yml' })).parseAsync(
        ['node', 'config'],
        { from: 'node' },
      ),
    );
    assert.doesNotMatch(out, /literal-password|other-literal|GITHUB_TOKEN|SSH_KEY|PG_PASSWORD/);
    assert.match(
      out,
      /^---\n:roles:\n- web\n:hosts:\n- 1\.1\.1\.1\n- 1\.1\.1\.2\n- 1\.1\.1\.3\n:primary_host: 1\.1\.1\.1\n:version: "999"\n/,
    );
    const data = parse(out) as Record<string, unknown>;
    assert.equal(data[':repository'], 'dhh/app');
    assert.equal(data[':absolute_image'], 'dhh/app:999');
    assert.equal(data[':service_with_version'], 'app-999');
    assert.deepEqual(data[':volume_args'], []);
    assert.deepEqual(data[':logging'], ['--log-opt', 'max-size="10m"']);
    assert.deepEqual(data[':ssh_options'], {
      ':user': 'root',
      ':port': 22,
      ':keepalive': true,
      ':keepalive_interval': 30,
      ':key_data': ['[REDACTED]'],
      ':log_level': ':fatal',
    });
    assert.deepEqual(data[':builder'], {
      arch: 'amd64',
      secrets: ['[REDACTED]'],
      args: { COMMIT_SHA: 'abc' },
    });
    const json = JSON.parse(
      await capture(() =>
        configCommand(() => ({ version: '999' })).parseAsync(['node', 'config', '--json'], { from: 'node' }),
      ),
    );
    assert.equal(json.primary_role, 'web');
    assert.doesNotMatch(JSON.stringify(json), /literal-password|other-literal/);
  } finally {
    process.chdir(cwd);
  }
});

test('the shipped JSON Schema is the one generated from the zod schema', () => {
  const shipped = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../schema/deploy.schema.json', import.meta.url)), 'utf8'),
  );
  assert.deepEqual(
    shipped,
    JSON.parse(JSON.stringify(deployJsonSchema())),
    'run node packages/wharf/schema/write-schema.mjs after changing the schema',
  );
  assert.equal(shipped.additionalProperties, false);
  assert.deepEqual(shipped.patternProperties, { '^x-': {} });
  for (const key of Object.keys(rootShape)) assert.ok(shipped.properties[key], key);
  assert.match(shipped.properties.proxy.description, /kamal-proxy/);
  // wharf's own `x-` extensions are described for editors, with their keys.
  assert.equal(shipped.properties['x-wharf'].properties.strict.type, 'boolean');
  assert.deepEqual(
    shipped.properties['x-wharf-db'].required.sort(),
    ['primary', 'replication', 'standbys', 'haproxy'].sort(),
  );
});
