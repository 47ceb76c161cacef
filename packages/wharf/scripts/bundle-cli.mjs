#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/bin.js) with commander, yaml and zod into
// one ES module, dist/bundle/wharf.mjs, which bin/wharf.js starts when it is
// newer than the last TypeScript build. Node 20 loads one 1.4 MB file several
// times faster than the ~300 small modules it replaces (no compile cache on
// Node 20), which is most of `wharf`'s start-up time. ssh2 stays outside: it
// loads its optional native crypto binding from a path relative to itself.
//
//   node packages/wharf/scripts/bundle-cli.mjs     (part of `npm run build`)
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(pkg, 'dist/src/bin.js')],
  outfile: join(pkg, 'dist/bundle/wharf.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The bundle sits two folders below the package root, as dist/src/*.js do, so
  // paths taken from import.meta.url (../../package.json, wharf-proxy) still resolve.
  external: ['ssh2', 'cpu-features'],
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as wharfCreateRequire } from 'node:module'; const require = wharfCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});
