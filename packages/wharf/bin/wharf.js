#!/usr/bin/env node
// The `wharf` command. Committed (not built) so that `npm ci` can link it before the
// TypeScript is compiled; the code itself is dist/src/bin.js (`npm run build`).
// `npm run build` also bundles it into dist/bundle/wharf.mjs, which starts in about
// half the time; the bundle is used unless the TypeScript was rebuilt after it
// (tsc -b alone) or WHARF_NO_BUNDLE=1 is set.
import { statSync } from 'node:fs';

const bundle = new URL('../dist/bundle/wharf.mjs', import.meta.url);
const buildInfo = new URL('../dist/tsconfig.tsbuildinfo', import.meta.url);

function mtime(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return null;
  }
}

function entry() {
  if (process.env.WHARF_NO_BUNDLE === '1') return '../dist/src/bin.js';
  const bundled = mtime(bundle);
  if (bundled === null) return '../dist/src/bin.js';
  const built = mtime(buildInfo);
  return built === null || bundled >= built ? '../dist/bundle/wharf.mjs' : '../dist/src/bin.js';
}

import(entry()).catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/bin.js')) {
    process.stderr.write('wharf: not built yet; run `npm run build` in the repository first.\n');
    process.exitCode = 1;
    return;
  }
  throw error;
});
