import { UserError } from '../../util/errors.js';
import {
  type AdapterContext,
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  runCli,
  keepSecret,
} from './base.js';

/**
 * Bitwarden (`bw`). Secrets are `item` (the login password, or every custom
 * field when the item has no password) or `item/field` (a custom field).
 * Signs in with `bw login ACCOUNT` when unauthenticated, unlocks with
 * `bw unlock --raw` when locked (the session goes to later calls in BW_SESSION,
 * never on the command line) and runs `bw sync` before reading.
 */
export const bitwardenAdapter = cliAdapter({
  name: 'bitwarden',
  requiresAccount: true,
  cli: { file: 'bw', product: 'Bitwarden' },
  fetch(secrets, options, ctx) {
    const session = signIn(ctx, options.account!);
    const results: SecretValues = new Map();
    for (const [item, fields] of itemsFields(prefixedSecrets(secrets, options.from))) {
      const result = bw(ctx, ['get', 'item', item], session);
      if (result.status !== 0)
        throw new UserError(
          `Could not read ${item} from Bitwarden; check the item name with \`bw get item ${item}\`.`,
        );
      const json = parseJson(result.stdout.trim(), `\`bw get item ${item}\``);
      if (!isRecord(json))
        throw new UserError(`\`bw get item ${item}\` did not print an item object; check the item name.`);
      const named = fields.filter((f): f is string => f !== undefined);
      if (named.length > 0) addFields(results, item, json, named, ctx);
      if (named.length === fields.length) continue;
      const login = isRecord(json.login) ? json.login : undefined;
      if (typeof login?.password === 'string' && login.password !== '') {
        keepSecret(results, ctx, item, login.password);
      } else if (Array.isArray(json.fields) && json.fields.length > 0) {
        const all = json.fields.filter(isRecord).map((f) => String(f.name));
        addFields(results, item, json, all, ctx);
      } else {
        throw new UserError(
          `Item ${item} is not a login type item and no fields were specified; name a field as ${item}/FIELD.`,
        );
      }
    }
    return results;
  },
});

function bw(ctx: AdapterContext, args: string[], session?: string, stderr: 'inherit' | 'ignore' = 'inherit') {
  return runCli(ctx, 'bw', args, { envExtra: session ? { BW_SESSION: session } : undefined, stderr });
}

function status(ctx: AdapterContext, session?: string): string {
  const result = bw(ctx, ['status'], session);
  const json = parseJson(result.stdout.trim(), '`bw status`');
  return isRecord(json) && typeof json.status === 'string' ? json.status : 'unknown';
}

function signIn(ctx: AdapterContext, account: string): string | undefined {
  let state = status(ctx);
  let session: string | undefined;
  if (state === 'unauthenticated') {
    bw(ctx, ['login', account]);
    state = status(ctx);
  }
  if (state === 'locked') {
    const token = bw(ctx, ['unlock', '--raw']).stdout.trim();
    session = token === '' ? undefined : token;
    ctx.redactor.add(session);
    state = status(ctx, session);
  }
  if (state !== 'unlocked') {
    throw new UserError(
      `Failed to login to and unlock Bitwarden as ${account}; run \`bw login ${account}\` and \`bw unlock\`, then try again.`,
    );
  }
  if (bw(ctx, ['sync'], session).status !== 0)
    throw new UserError('Failed to sync Bitwarden; run `bw sync` to see why.');
  return session;
}

/** `item` or `item/field` (anything after a second slash is ignored, as in Kamal). */
function itemsFields(secrets: readonly string[]): Map<string, (string | undefined)[]> {
  const items = new Map<string, (string | undefined)[]>();
  for (const secret of secrets) {
    const [item = '', field] = secret.split('/');
    let list = items.get(item);
    if (!list) items.set(item, (list = []));
    list.push(field === '' ? undefined : field);
  }
  return items;
}

function addFields(
  results: SecretValues,
  item: string,
  json: Record<string, unknown>,
  fields: string[],
  ctx: AdapterContext,
): void {
  const itemFields = Array.isArray(json.fields) ? json.fields.filter(isRecord) : [];
  for (const field of fields) {
    const found = itemFields.find((f) => f.name === field);
    if (!found)
      throw new UserError(
        `Could not find field ${field} in item ${item} in Bitwarden; check the custom field names of ${item}.`,
      );
    const value = found.value === null || found.value === undefined ? '' : String(found.value);
    keepSecret(results, ctx, `${item}/${field}`, value);
  }
}
