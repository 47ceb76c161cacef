import { UserError } from '../../util/errors.js';
import {
  type AdapterContext,
  type FetchOptions,
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  rubySplit,
  runCli,
  keepSecret,
} from './base.js';

/**
 * 1Password (`op`, CLI v2). Secrets are `vault/item[/section]/field` (an
 * `op://` prefix is accepted; the field defaults to `password`); each item is
 * read with one `op item get … --fields label=…` call. Result keys come from
 * each field's `reference` with `op://` and a trailing `/password` removed.
 * With no secret names, every field of `--from vault/item` is fetched.
 */
export const onePasswordAdapter = cliAdapter({
  name: '1password',
  requiresAccount: true,
  cli: { file: 'op', product: '1Password' },
  fetch(secrets, options, ctx) {
    const account = options.account!;
    const session = signIn(ctx, account);
    return secrets.length === 0
      ? fetchAllFields(options, account, session, ctx)
      : fetchFields(secrets, options, account, session, ctx);
  },
});

function signIn(ctx: AdapterContext, account: string): string | undefined {
  const check = runCli(ctx, 'op', ['account', 'get', '--account', account], { stderr: 'ignore' });
  if (check.status === 0) return undefined;
  const signin = runCli(ctx, 'op', ['signin', '--account', account, '--force', '--raw']);
  if (signin.status !== 0) {
    throw new UserError(
      `Failed to login to 1Password account ${account}; run \`op signin --account ${account}\` and try again.`,
    );
  }
  const session = signin.stdout.trim();
  ctx.redactor.add(session);
  return session === '' ? undefined : session;
}

function itemGetArgs(
  item: string,
  vault: string,
  account: string,
  session: string | undefined,
  fields?: string[],
): string[] {
  const args = ['item', 'get', item, '--vault', vault, '--format', 'json', '--account', account];
  if (session) args.push('--session', session);
  if (fields && fields.length > 0) args.push('--fields', fields.map((field) => `label=${field}`).join(','));
  return args;
}

function readItem(
  ctx: AdapterContext,
  item: string,
  vault: string,
  account: string,
  session: string | undefined,
  fields?: string[],
): unknown {
  const result = runCli(ctx, 'op', itemGetArgs(item, vault, account, session, fields));
  if (result.status !== 0) {
    const what = fields && fields.length > 0 ? `${fields.join(', ')} from ${item}` : item;
    throw new UserError(
      `Could not read ${what} in the ${vault} 1Password vault; check the names with \`op item get ${item} --vault ${vault}\`.`,
    );
  }
  return parseJson(result.stdout, `\`op item get ${item}\``);
}

/** Groups `vault/item/field…` names by vault and item; fields inside sections are joined with dots. */
function vaultsItemsFields(secrets: readonly string[]): Map<string, Map<string, string[]>> {
  const vaults = new Map<string, Map<string, string[]>>();
  for (const raw of secrets) {
    const [vault, item, ...fields] = rubySplit(raw.replace(/^op:\/\//, ''), '/');
    if (!vault || !item) {
      throw new UserError(
        `1Password secret "${raw}" names no item; write it as VAULT/ITEM/FIELD or pass --from VAULT/ITEM.`,
      );
    }
    if (fields.length === 0) fields.push('password');
    let items = vaults.get(vault);
    if (!items) vaults.set(vault, (items = new Map()));
    let list = items.get(item);
    if (!list) items.set(item, (list = []));
    list.push(fields.join('.'));
  }
  return vaults;
}

function addFields(results: SecretValues, fields: unknown[], ctx: AdapterContext): void {
  for (const field of fields) {
    if (!isRecord(field) || typeof field.reference !== 'string') continue;
    if (field.value === undefined || field.value === null) continue;
    const key = field.reference.replace(/^op:\/\//, '').replace(/\/password$/, '');
    const value = String(field.value);
    keepSecret(results, ctx, key, value);
  }
}

function fetchFields(
  secrets: readonly string[],
  options: FetchOptions,
  account: string,
  session: string | undefined,
  ctx: AdapterContext,
): SecretValues {
  const results: SecretValues = new Map();
  for (const [vault, items] of vaultsItemsFields(prefixedSecrets(secrets, options.from))) {
    for (const [item, fields] of items) {
      const json = readItem(ctx, item, vault, account, session, fields);
      addFields(results, Array.isArray(json) ? json : [json], ctx);
    }
  }
  return results;
}

function fetchAllFields(
  options: FetchOptions,
  account: string,
  session: string | undefined,
  ctx: AdapterContext,
): SecretValues {
  const [vault, item] = rubySplit((options.from ?? '').replace(/^op:\/\//, ''), '/');
  if (!vault || !item) {
    throw new UserError(
      '1Password fetch without secret names reads every field of one item; pass --from VAULT/ITEM.',
    );
  }
  const json = readItem(ctx, item, vault, account, session);
  const results: SecretValues = new Map();
  addFields(results, isRecord(json) && Array.isArray(json.fields) ? json.fields : [], ctx);
  return results;
}
