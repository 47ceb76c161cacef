#!/usr/bin/env node
// The `wharf-proxy` command. Committed (not built) so that `npm ci` can link it before the
// TypeScript is compiled; the code itself is dist/src/bin.js (`npm run build`).
import('../dist/src/bin.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/bin.js')) {
    process.stderr.write('wharf-proxy: not built yet; run `npm run build` in the repository first.\n');
    process.exitCode = 1;
    return;
  }
  throw error;
});
