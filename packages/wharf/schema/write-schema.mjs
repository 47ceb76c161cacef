#!/usr/bin/env node
// Writes schema/deploy.schema.json from the zod schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { deployJsonSchema } = await import(join(here, '..', 'dist', 'src', 'config', 'json-schema.js'));
const out = join(here, 'deploy.schema.json');
writeFileSync(out, `${JSON.stringify(deployJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
