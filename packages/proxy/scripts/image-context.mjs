#!/usr/bin/env node
/**
 * Stages a Docker build context for the wharf-proxy image from this npm
 * workspace: the Dockerfile, the .dockerignore, and app/ holding the compiled
 * proxy (dist/src), its package.json and its production dependencies copied
 * from node_modules (the workspace hoists them to the root, so a build from
 * packages/proxy alone would miss them).
 *
 *   node packages/proxy/scripts/image-context.mjs [--out DIR]
 *       [--build TAG [--base IMAGE]]
 *
 * Prints the context directory (and runs a plain `docker build` with --build).
 * Run `npx tsc -b packages/proxy` first.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceDir = resolve(packageDir, '..', '..');

function fail(message) {
  process.stderr.write(`image-context: ${message}\n`);
  process.exit(1);
}

/** Finds a dependency the way Node would from packageDir: nearest node_modules first. */
function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === dirname(dir) || dir === dirname(workspaceDir)) return undefined;
  }
}

/** Production dependencies of packageDir, transitively: name -> source folder. */
export function productionDependencies(fromDir = packageDir) {
  const found = new Map();
  const visit = (dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies };
    for (const name of Object.keys(deps)) {
      if (found.has(name)) continue;
      const source = locate(name, dir);
      if (!source) {
        if (manifest.optionalDependencies?.[name]) continue;
        fail(`dependency ${name} of ${manifest.name} is not installed; run \`npm ci\` in ${workspaceDir}.`);
      }
      // A copy nested in another dependency's node_modules travels with that dependency.
      const nested = [...found.values()].some((top) => source.startsWith(`${top}/node_modules/`));
      if (!nested) found.set(name, source);
      visit(source);
    }
  };
  visit(fromDir);
  return found;
}

export function stageContext(out) {
  const bin = join(packageDir, 'dist', 'src', 'bin.js');
  if (!existsSync(bin))
    fail(`${bin} is missing; run \`npx tsc -b packages/proxy\` in ${workspaceDir} first.`);
  rmSync(out, { recursive: true, force: true });
  const app = join(out, 'app');
  mkdirSync(app, { recursive: true });
  const skip = (src) => !/\.(map|d\.ts|tsbuildinfo)$/.test(src);
  cpSync(join(packageDir, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true, filter: skip });
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  delete manifest.devDependencies;
  delete manifest.scripts;
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [name, source] of productionDependencies()) {
    cpSync(source, join(app, 'node_modules', name), {
      recursive: true,
      dereference: true,
      filter: (src) => !/\.(map|md|d\.ts)$/.test(src),
    });
  }
  cpSync(join(packageDir, 'Dockerfile'), join(out, 'Dockerfile'));
  cpSync(join(packageDir, '.dockerignore'), join(out, '.dockerignore'));
  return out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, build: { type: 'string' }, base: { type: 'string' } },
  });
  const out = stageContext(
    values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'wharf-proxy-image-')),
  );
  process.stdout.write(`${out}\n`);
  if (values.build) {
    const args = [
      'build',
      '-t',
      values.build,
      ...(values.base ? ['--build-arg', `BASE=${values.base}`] : []),
      out,
    ];
    const result = spawnSync('docker', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0)
      fail(`docker ${args.join(' ')} failed (exit ${result.status ?? result.signal}).`);
  }
}
