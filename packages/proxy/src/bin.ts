#!/usr/bin/env node
// wharf-proxy / kamal-proxy: one entry for both names.
import { basename } from 'node:path';
import { main } from './cli/main.js';

const invoked = basename(process.argv[1] ?? 'wharf-proxy').replace(/\.js$/, '');
const bin = invoked === 'kamal-proxy' ? 'kamal-proxy' : 'wharf-proxy';
main(process.argv.slice(2), undefined, bin).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
