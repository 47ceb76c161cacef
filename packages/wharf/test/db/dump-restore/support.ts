/** Test support for the fast + deferred restore: the sample archives made by pg_dump 15 (see fixtures/schema.sql). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../../test/db/dump-restore/fixtures/', import.meta.url));

/** fixtures/sample.dump: `pg_dump -Fc -f` of fixtures/schema.sql's database. */
export const sample = (): Buffer => readFileSync(`${FIXTURES}sample.dump`);
