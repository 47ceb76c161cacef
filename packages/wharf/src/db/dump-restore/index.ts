/**
 * `wharf db restore --dump FILE | --from-node NODE`: the seed's "fast +
 * deferred" logical restore into an accessory: schema and small tables first
 * (the database is usable then), big tables and their indexes in the
 * background, with progress. See docs/db.md.
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import type { DbTier } from '../config.js';

export interface DumpRestoreOptions {
  /** The accessory (a Postgres container) to restore into. */
  into: string;
  /** A pg_dump custom-format file on this machine. */
  dump?: string;
  /** Or: dump this tier node's database now. */
  fromNode?: string;
  /** Tables whose data is larger than this load in the background (e.g. "64MB"). */
  deferOver?: string;
  /** Wait for the deferred part to finish before returning. */
  wait?: boolean;
}

export async function restoreDump(
  _ctx: Context,
  _remote: Remote,
  _tier: DbTier | undefined,
  _opts: DumpRestoreOptions,
): Promise<void> {
  throw new UserError('Fast + deferred `wharf db restore --dump` is not implemented yet.');
}
