/** bin/wharf.js starts the bundled CLI when it is up to date, the compiled modules otherwise, and both behave alike. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('../../../../', import.meta.url));
const launcher = join(pkg, 'bin/wharf.js');
const bundle = join(pkg, 'dist/bundle/wharf.mjs');

/** A copy of the launcher in a package folder whose entry points only say which one ran. */
function fakePackage(files: { bundleAge?: number; buildInfoAge?: number }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-launcher-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist/src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  copyFileSync(launcher, join(dir, 'bin/wharf.js'));
  writeFileSync(join(dir, 'dist/src/bin.js'), "process.stdout.write('modules');\n");
  const now = Date.now() / 1000;
  if (files.bundleAge !== undefined) {
    mkdirSync(join(dir, 'dist/bundle'));
    writeFileSync(join(dir, 'dist/bundle/wharf.mjs'), "process.stdout.write('bundle');\n");
    utimesSync(join(dir, 'dist/bundle/wharf.mjs'), now - files.bundleAge, now - files.bundleAge);
  }
  if (files.buildInfoAge !== undefined) {
    writeFileSync(join(dir, 'dist/tsconfig.tsbuildinfo'), '{}');
    utimesSync(join(dir, 'dist/tsconfig.tsbuildinfo'), now - files.buildInfoAge, now - files.buildInfoAge);
  }
  return dir;
}

function runs(dir: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [join(dir, 'bin/wharf.js')], {
    encoding: 'utf8',
    env: { ...process.env, WHARF_NO_BUNDLE: '', ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('the launcher picks the bundle only when it is newer than the last TypeScript build', (t) => {
  const cases: Array<[string, { bundleAge?: number; buildInfoAge?: number }, string]> = [
    ['bundle built after tsc', { bundleAge: 10, buildInfoAge: 20 }, 'bundle'],
    ['tsc rebuilt after the bundle', { bundleAge: 20, buildInfoAge: 10 }, 'modules'],
    ['no bundle', { buildInfoAge: 10 }, 'modules'],
    ['bundle without build info (an installed package)', { bundleAge: 10 }, 'bundle'],
  ];
  for (const [name, files, expected] of cases) {
    const dir = fakePackage(files);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(runs(dir), expected, name);
  }
  const dir = fakePackage({ bundleAge: 10, buildInfoAge: 20 });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(runs(dir, { WHARF_NO_BUNDLE: '1' }), 'modules', 'WHARF_NO_BUNDLE=1');
});

test('the bundled CLI answers as the compiled modules do', () => {
  assert.ok(existsSync(bundle), `${bundle} is missing: \`npm run build\` makes it`);
  const cli = (file: string, args: string[]) =>
    spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', cwd: tmpdir() });
  for (const args of [['version'], ['--help'], ['deploy', '--help'], ['deploy', '--bogus']]) {
    const a = cli(bundle, args);
    const b = cli(join(pkg, 'dist/src/bin.js'), args);
    assert.equal(a.status, b.status, args.join(' '));
    assert.equal(a.stdout, b.stdout, args.join(' '));
    assert.equal(a.stderr, b.stderr, args.join(' '));
  }
  // A command that reads configuration: the same one-sentence error from both.
  const a = cli(bundle, ['details']);
  assert.notEqual(a.status, 0);
  assert.match(a.stderr, /^wharf: .*config\/deploy\.yml/);
  assert.equal(a.stderr, cli(join(pkg, 'dist/src/bin.js'), ['details']).stderr);
});
