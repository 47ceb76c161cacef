/** Error pages and asset bridging of `app boot`: the exact commands, and what they do to a real directory tree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCommands, commandLine } from '../../../src/commands/index.js';
import { errorPageUploads } from '../../../src/commands/app-error-pages.js';
import {
  cleanUpAfterBoot,
  extractAssetsAndReadVersion,
  readErrorPages,
} from '../../../src/deploy/app-pages-assets.js';
import { UserError } from '../../../src/util/errors.js';
import { load, type Raw } from '../../commands/support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: { web: ['1.1.1.1'], workers: { hosts: ['1.1.1.2'], proxy: false } },
  builder: { arch: 'amd64' },
};

test('extract step: Kamal extract_assets, output hidden, then the running version on one line', async () => {
  const config = await load({ ...BASE, asset_path: '/public/assets' });
  const app = new AppCommands(config, { role: config.role('web')!, host: '1.1.1.1' });
  assert.equal(
    extractAssetsAndReadVersion(app),
    '{ mkdir -p .kamal/apps/app/assets/extracted/web-999 && docker container rm app-web-assets 2> /dev/null || true && ' +
      'docker container create --name app-web-assets dhh/app:999 && ' +
      'docker container cp -L app-web-assets:/public/assets/. .kamal/apps/app/assets/extracted/web-999 && ' +
      'docker container rm app-web-assets ; } > /dev/null && ' +
      `echo "current=$(${commandLine(app.currentRunningVersion())})"`,
  );
});

test('asset bridging applies to proxied roles with an asset_path only; a role may override the path', async () => {
  const config = await load({
    ...BASE,
    asset_path: '/public/assets',
    servers: {
      web: ['1.1.1.1'],
      workers: { hosts: ['1.1.1.2'], proxy: false },
      api: { hosts: ['1.1.1.3'], proxy: true, asset_path: '/api/public:ro' },
    },
  });
  assert.equal(config.role('web')!.assets, true);
  assert.equal(config.role('workers')!.assets, false);
  assert.equal(config.role('api')!.assetPath, '/api/public');
  assert.deepEqual(config.role('api')!.assetVolumeArgs(), [
    '--volume',
    '$PWD/.kamal/apps/app/assets/volumes/api-999:/api/public:ro',
  ]);
});

test('clean-up after the old container stopped: other versions of assets, then of error pages', async () => {
  const config = await load({ ...BASE, asset_path: '/public/assets', error_pages_path: 'public' });
  assert.equal(
    commandLine(cleanUpAfterBoot(config, config.role('web')!, '1.1.1.1')!),
    `find .kamal/apps/app/assets/extracted -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf "{}" + ; ` +
      `find .kamal/apps/app/assets/volumes -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf "{}" + && ` +
      'find .kamal/proxy/apps-config/app/error_pages -mindepth 1 -maxdepth 1 ! -name 999 -exec rm -rf {} +',
  );
  // A worker (not proxied) has no assets; the error pages still go.
  assert.equal(
    commandLine(cleanUpAfterBoot(config, config.role('workers')!, '1.1.1.2')!),
    'find .kamal/proxy/apps-config/app/error_pages -mindepth 1 -maxdepth 1 ! -name 999 -exec rm -rf {} +',
  );
  const plain = await load(BASE);
  assert.equal(cleanUpAfterBoot(plain, plain.role('web')!, '1.1.1.1'), undefined);
});

test('error pages: the 4xx/5xx html files of error_pages_path go to the version directory readable by the proxy (0644)', async () => {
  const config = await load(
    { ...BASE, error_pages_path: 'public/errors' },
    {
      files: {
        'public/errors/503.html': '<p>down: {{ .Message }}</p>\n',
        'public/errors/404.html': '<p>not here</p>\n',
        'public/errors/4xx.html': 'matches 4??.html too\n',
        'public/errors/200.html': 'not an error\n',
        'public/errors/5000.html': 'four digits\n',
        'public/errors/index.html': 'other\n',
      },
    },
  );
  const pages = await readErrorPages(config);
  assert.deepEqual(
    pages.map((p) => p.name),
    ['404.html', '4xx.html', '503.html'],
  );
  assert.deepEqual(errorPageUploads(config, pages), [
    {
      path: '.kamal/proxy/apps-config/app/error_pages/999/404.html',
      content: '<p>not here</p>\n',
      mode: 0o644,
    },
    {
      path: '.kamal/proxy/apps-config/app/error_pages/999/4xx.html',
      content: 'matches 4??.html too\n',
      mode: 0o644,
    },
    {
      path: '.kamal/proxy/apps-config/app/error_pages/999/503.html',
      content: '<p>down: {{ .Message }}</p>\n',
      mode: 0o644,
    },
  ]);
  const withDestination = await load(
    { ...BASE, error_pages_path: 'public/errors' },
    { destination: 'staging', files: { 'public/errors/500.html': 'x' } },
  );
  assert.equal(
    errorPageUploads(withDestination, await readErrorPages(withDestination))[0]!.path,
    '.kamal/proxy/apps-config/app-staging/error_pages/999/500.html',
  );
});

test('error pages: none without the key; a missing or empty directory is one clear error', async () => {
  assert.deepEqual(await readErrorPages(await load(BASE)), []);
  const missing = await load({ ...BASE, error_pages_path: 'nowhere' });
  await assert.rejects(readErrorPages(missing), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(
      e.message,
      /^error_pages_path nowhere in .*deploy\.yml can't be read \(ENOENT\); create the directory/,
    );
    return true;
  });
  const empty = await load({ ...BASE, error_pages_path: 'public' }, { files: { 'public/index.html': 'x' } });
  await assert.rejects(readErrorPages(empty), /error_pages_path public in .* has no 4xx or 5xx pages/);
});

/** Runs a generated command with sh in `dir` (the commands use paths relative to the SSH user's home). */
function sh(dir: string, command: string[]): void {
  execFileSync('sh', ['-c', commandLine(command)], { cwd: dir, stdio: 'pipe' });
}

function tree(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const kind of ['extracted', 'volumes']) {
    const base = join(dir, '.kamal/apps/app/assets', kind);
    for (const entry of readdirSync(base).sort())
      out[`${kind}/${entry}`] = readdirSync(join(base, entry)).sort();
  }
  return out;
}

test('bridging on a real directory tree: each version serves both sets, then only the new version is kept', async () => {
  const home = mkdtempSync(join(tmpdir(), 'wharf-assets-'));
  const extracted = (version: string, files: Record<string, string>) => {
    const d = join(home, '.kamal/apps/app/assets/extracted', `web-${version}`);
    mkdirSync(d, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content);
  };
  const v1 = await load({ ...BASE, asset_path: '/public/assets' }, { version: 'v1' });
  const v2 = await load({ ...BASE, asset_path: '/public/assets' }, { version: 'v2' });
  const web1 = new AppCommands(v1, { role: v1.role('web')!, host: '1.1.1.1' });
  const web2 = new AppCommands(v2, { role: v2.role('web')!, host: '1.1.1.1' });

  // First deploy: nothing running.
  extracted('v1', { 'app-111.css': 'old', 'shared.txt': 'v1' });
  sh(home, web1.syncAssetVolumes({}));
  // Second deploy while v1 runs.
  extracted('v2', { 'app-222.css': 'new', 'shared.txt': 'v2' });
  sh(home, web2.syncAssetVolumes({ oldVersion: 'v1' }));
  assert.deepEqual(tree(home), {
    'extracted/web-v1': ['app-111.css', 'shared.txt'],
    'extracted/web-v2': ['app-222.css', 'shared.txt'],
    'volumes/web-v1': ['app-111.css', 'app-222.css', 'shared.txt'],
    'volumes/web-v2': ['app-111.css', 'app-222.css', 'shared.txt'],
  });
  // -n: a file both versions have keeps each version's own content.
  assert.equal(
    execFileSync('cat', ['.kamal/apps/app/assets/volumes/web-v1/shared.txt'], {
      cwd: home,
      encoding: 'utf8',
    }),
    'v1',
  );
  assert.equal(
    execFileSync('cat', ['.kamal/apps/app/assets/volumes/web-v2/shared.txt'], {
      cwd: home,
      encoding: 'utf8',
    }),
    'v2',
  );

  // After v1 stopped.
  sh(home, cleanUpAfterBoot(v2, v2.role('web')!, '1.1.1.1')!);
  assert.deepEqual(tree(home), {
    'extracted/web-v2': ['app-222.css', 'shared.txt'],
    'volumes/web-v2': ['app-111.css', 'app-222.css', 'shared.txt'],
  });
});
