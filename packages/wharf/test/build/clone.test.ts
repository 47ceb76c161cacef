/** Version resolution and the clean clone, on real temporary git repositories. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  realpathSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveVersion, abbreviatedVersion } from '../../src/build/version.js';
import {
  clonePaths,
  cloneCommand,
  cloneResetCommands,
  prepareClone,
  rubyShellEscape,
} from '../../src/build/clone.js';
import { kamalText, argv } from '../../src/build/words.js';
import { UserError } from '../../src/util/errors.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

function newRepo(base: string, name: string): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(dir, 'message.txt'), 'committed\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

let base: string;
before(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'wharf-build-clone-')));
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('resolveVersion', () => {
  test('--version wins, then VERSION, then the commit', async () => {
    const repo = newRepo(base, 'v1');
    const head = git(repo, 'rev-parse', 'HEAD');
    assert.equal(await resolveVersion({ cwd: repo, explicit: 'abc', env: { VERSION: 'env' } }), 'abc');
    assert.equal(await resolveVersion({ cwd: repo, explicit: '  ', env: { VERSION: 'env' } }), 'env');
    assert.equal(await resolveVersion({ cwd: repo, env: { VERSION: '' } }), head);
  });

  test("dirty tree: bare commit for clone builds, Kamal's _uncommitted_ suffix with a context", async () => {
    const repo = newRepo(base, 'v2');
    const head = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'message.txt'), 'changed\n');
    assert.equal(await resolveVersion({ cwd: repo, env: {} }), head);
    const dirty = await resolveVersion({ cwd: repo, env: {}, cloneBuild: false });
    assert.match(dirty, new RegExp(`^${head}_uncommitted_[0-9a-f]{16}$`));
    assert.notEqual(dirty, await resolveVersion({ cwd: repo, env: {}, cloneBuild: false }));
    assert.equal(abbreviatedVersion(dirty), dirty);
    assert.equal(abbreviatedVersion(head), head.slice(0, 7));
  });

  test('untracked files count as uncommitted (git status --porcelain)', async () => {
    const repo = newRepo(base, 'v3');
    writeFileSync(join(repo, 'new.txt'), 'x');
    assert.match(await resolveVersion({ cwd: repo, env: {}, cloneBuild: false }), /_uncommitted_/);
  });

  test('no repository, or no commit: one sentence saying to pass --version', async () => {
    const plain = join(base, 'plain');
    mkdirSync(plain);
    await assert.rejects(
      resolveVersion({ cwd: plain, env: {} }),
      (e: unknown) => e instanceof UserError && /no git repository in .*pass --version/.test(e.message),
    );
    const empty = join(base, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    await assert.rejects(resolveVersion({ cwd: empty, env: {} }), /has no commit yet/);
  });
});

describe('clone planning', () => {
  test("paths as Kamal's: <tmp>/kamal-clones/<service>-<13 hex>/<repo>/<subdir>", () => {
    const sha = createHash('sha256').update('/src/shop/web').digest('hex').slice(0, 13);
    const paths = clonePaths({ service: 'app', cwd: '/src/shop/web', gitRoot: '/src/shop', tmpdir: '/tmp' });
    assert.equal(paths.cloneDirectory, `/tmp/kamal-clones/app-${sha}`);
    assert.equal(paths.buildDirectory, `/tmp/kamal-clones/app-${sha}/shop/web`);
  });

  test('clone and reset commands, paths escaped like Ruby shellescape in the rendering only', () => {
    const paths = {
      cloneDirectory: '/tmp/kamal-clones/app-1',
      buildDirectory: '/tmp/kamal-clones/app-1/my app',
    };
    const root = '/absolute/path with spaces';
    const clone = cloneCommand(root, paths);
    assert.equal(
      kamalText(clone),
      'git -C /tmp/kamal-clones/app-1 clone /absolute/path\\ with\\ spaces --recurse-submodules',
    );
    assert.deepEqual(argv(clone), [
      'git',
      '-C',
      '/tmp/kamal-clones/app-1',
      'clone',
      root,
      '--recurse-submodules',
    ]);
    const reset = cloneResetCommands(root, paths, 'abc123').map(kamalText);
    assert.deepEqual(reset, [
      'git -C /tmp/kamal-clones/app-1/my\\ app remote set-url origin /absolute/path\\ with\\ spaces',
      'git -C /tmp/kamal-clones/app-1/my\\ app fetch origin',
      'git -C /tmp/kamal-clones/app-1/my\\ app reset --hard abc123',
      'git -C /tmp/kamal-clones/app-1/my\\ app clean -fdx',
      'git -C /tmp/kamal-clones/app-1/my\\ app submodule update --init',
      'git -C /tmp/kamal-clones/app-1/my\\ app gc --auto --quiet',
    ]);
    assert.equal(rubyShellEscape(''), "''");
    assert.equal(rubyShellEscape("it's"), "it\\'s");
  });
});

describe('prepareClone', () => {
  test('clones the commit without uncommitted changes, then resets on the next build', async () => {
    const repo = newRepo(base, 'shop');
    const cache = join(base, 'cache1');
    writeFileSync(join(repo, 'message.txt'), 'uncommitted\n');
    writeFileSync(join(repo, 'untracked.txt'), 'x');
    const log: string[] = [];
    const first = await prepareClone({ service: 'app', cwd: repo, tmpdir: cache, log: (l) => log.push(l) });
    assert.equal(first.revision, git(repo, 'rev-parse', 'HEAD'));
    assert.ok(first.buildDirectory.startsWith(join(cache, 'kamal-clones', 'app-')));
    assert.ok(first.buildDirectory.endsWith('/shop'));
    assert.equal(readFileSync(join(first.buildDirectory, 'message.txt'), 'utf8'), 'committed\n');
    assert.ok(!existsSync(join(first.buildDirectory, 'untracked.txt')));
    assert.ok(log.some((l) => l.startsWith('Cloning repo into build directory')));

    // A new commit and junk left in the clone: the second build resets instead of cloning.
    git(repo, 'commit', '-q', '-am', 'second');
    writeFileSync(join(first.buildDirectory, 'junk.txt'), 'junk');
    const log2: string[] = [];
    const second = await prepareClone({ service: 'app', cwd: repo, tmpdir: cache, log: (l) => log2.push(l) });
    assert.equal(second.buildDirectory, first.buildDirectory);
    assert.equal(second.revision, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(readFileSync(join(second.buildDirectory, 'message.txt'), 'utf8'), 'uncommitted\n');
    assert.ok(!existsSync(join(second.buildDirectory, 'junk.txt')));
    assert.ok(log2.some((l) => l.startsWith('Resetting local clone')));
    assert.ok(log2.some((l) => l.endsWith('gc --auto --quiet')));
  });

  test('builds from the matching subdirectory when run below the repository root', async () => {
    const repo = newRepo(base, 'mono');
    mkdirSync(join(repo, 'web'));
    writeFileSync(join(repo, 'web', 'Dockerfile'), 'FROM scratch\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'web');
    const prepared = await prepareClone({
      service: 'web',
      cwd: join(repo, 'web'),
      tmpdir: join(base, 'cache2'),
    });
    assert.ok(prepared.buildDirectory.endsWith('/mono/web'));
    assert.ok(existsSync(join(prepared.buildDirectory, 'Dockerfile')));
  });

  test('a broken clone directory is deleted and cloned again', async () => {
    const repo = newRepo(base, 'broken');
    const cache = join(base, 'cache3');
    const paths = await prepareClone({ service: 'app', cwd: repo, tmpdir: cache });
    // Point the clone somewhere that cannot be fetched: the reset fails, so wharf re-clones.
    git(paths.buildDirectory, 'remote', 'set-url', 'origin', '/nonexistent');
    rmSync(join(paths.buildDirectory, '.git', 'HEAD'));
    const log: string[] = [];
    const again = await prepareClone({ service: 'app', cwd: repo, tmpdir: cache, log: (l) => log.push(l) });
    assert.equal(again.revision, git(repo, 'rev-parse', 'HEAD'));
    assert.ok(log.some((l) => /^Error preparing clone: .*, deleting and retrying\.\.\.$/.test(l)));
  });
});
