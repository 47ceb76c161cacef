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

interface Folder {
  id: string;
  name: string;
  folder_parent_id?: string;
}

/**
 * Passbolt (go-passbolt-cli, `passbolt`). Secrets are `[folder/…/]name`;
 * folders are resolved with `passbolt list folders --filter …` (one call for
 * the top-level folders, one per nested level), then every resource is read
 * in one `passbolt list resources --filter … --folder ID… --column name --column password --json`.
 * Keys are the bare resource names.
 *
 * Filter strings are quoted as expr string literals (JSON quoting). For plain
 * names this is exactly Kamal's text; Kamal shell-escapes names first, which
 * makes names with spaces never match, so wharf does not.
 */
export const passboltAdapter = cliAdapter({
  name: 'passbolt',
  requiresAccount: false,
  cli: {
    file: 'passbolt',
    product: 'Passbolt',
    install: 'install go-passbolt-cli (`passbolt`) and put it on PATH',
  },
  fetch(secrets, options, ctx) {
    if (runCli(ctx, 'passbolt', ['verify']).status !== 0)
      throw new UserError(
        'Failed to login to Passbolt; run `passbolt verify` (after `passbolt configure`) to see why.',
      );
    const names = prefixedSecrets(secrets, options.from);
    if (names.length === 0)
      throw new UserError('No secrets given to fetch from Passbolt; name them after the options.');
    const bareNames = names.map((name) => name.split('/').pop()!);
    const folders = findFolders(names, ctx);
    const conditions: string[] = [];
    // Where each name was asked for ('' = top level), to prefer that resource when a name exists in several folders.
    const wantedFolder = new Map<string, string>();
    for (const secret of names) {
      const parts = secret.split('/');
      const name = parts[parts.length - 1]!;
      if (parts.length === 1) {
        conditions.push(`Name == ${quote(name)}`);
        wantedFolder.set(name, '');
        continue;
      }
      let current: Folder | undefined;
      const path: string[] = [];
      for (const folderName of parts.slice(0, -1)) {
        path.push(folderName);
        const match = folders.find((f) => folderPath(f, folders) === path.join('/'));
        if (match) current = match;
      }
      if (current) {
        conditions.push(`(Name == ${quote(name)} && FolderParentID == ${quote(current.id)})`);
        wantedFolder.set(name, current.id);
      }
    }
    const args = ['list', 'resources'];
    if (conditions.length > 0) args.push('--filter', conditions.join(' || '));
    for (const folder of folders) args.push('--folder', folder.id);
    args.push('--column', 'name', '--column', 'password', '--json');
    const result = runCli(ctx, 'passbolt', args);
    if (result.status !== 0)
      throw new UserError(
        `Could not read ${names.join(', ')} from Passbolt; check the names with \`passbolt list resources\`.`,
      );
    const json = parseJson(result.stdout, '`passbolt list resources`');
    const items = Array.isArray(json) ? json.filter(isRecord) : [];
    const found = new Set(items.map((item) => String(item.name)));
    const missing = bareNames.filter((name) => !found.has(name));
    if (missing.length > 0)
      throw new UserError(
        `Could not find the following secrets in Passbolt: ${missing.join(', ')}; check their names and folders.`,
      );
    const results: SecretValues = new Map();
    // Resources in the folder the name was asked for go last, so they win (Kamal keeps whichever came last).
    const inWantedFolder = (item: Record<string, unknown>) =>
      wantedFolder.get(String(item.name)) === String(item.folder_parent_id ?? '');
    for (const item of [...items.filter((i) => !inWantedFolder(i)), ...items.filter(inWantedFolder)]) {
      const value = typeof item.password === 'string' ? item.password : '';
      keepSecret(results, ctx, String(item.name), value);
    }
    return results;
  },
});

function quote(text: string): string {
  return JSON.stringify(text);
}

function toFolders(json: unknown): Folder[] {
  return (Array.isArray(json) ? json.filter(isRecord) : []).map((f) => ({
    id: String(f.id),
    name: String(f.name),
    folder_parent_id:
      f.folder_parent_id === undefined || f.folder_parent_id === null
        ? undefined
        : String(f.folder_parent_id),
  }));
}

function listFolders(ctx: AdapterContext, filter: string): { ok: boolean; folders: Folder[] } {
  const result = runCli(ctx, 'passbolt', ['list', 'folders', '--filter', filter, '--json']);
  if (result.status !== 0) return { ok: false, folders: [] };
  return { ok: true, folders: toFolders(parseJson(result.stdout, '`passbolt list folders`')) };
}

function findFolders(secrets: string[], ctx: AdapterContext): Folder[] {
  const paths: string[][] = [];
  const seen = new Set<string>();
  for (const secret of secrets) {
    if (!secret.includes('/')) continue;
    const path = secret.split('/').slice(0, -1);
    const key = JSON.stringify(path);
    if (!seen.has(key)) {
      seen.add(key);
      paths.push(path);
    }
  }
  if (paths.length === 0) return [];
  const parents = [...new Set(paths.map((p) => p[0]!))];
  const top = listFolders(ctx, parents.map((name) => `Name == ${quote(name)}`).join(' || '));
  if (!top.ok)
    throw new UserError('Could not read folders from Passbolt; run `passbolt list folders` to see why.');
  const all = [...top.folders];
  for (const path of paths) {
    if (path.length <= 1) continue;
    let current = top.folders.find((f) => f.name === path[0]);
    if (!current) continue;
    for (const name of path.slice(1)) {
      const nested = listFolders(ctx, `Name == ${quote(name)} && FolderParentID == ${quote(current.id)}`);
      if (!nested.ok) continue;
      if (nested.folders.length === 0) break;
      all.push(...nested.folders);
      current = nested.folders[0]!;
    }
  }
  const found = new Set(all.map((f) => folderPath(f, all)));
  const missing = paths.map((p) => p.join('/')).filter((p) => !found.has(p));
  if (missing.length > 0)
    throw new UserError(
      `Could not find the following folders in Passbolt: ${missing.join(', ')}; check the folder names.`,
    );
  return all;
}

function folderPath(folder: Folder, all: Folder[]): string {
  const path = [folder.name];
  let current = folder;
  for (let depth = 0; depth < 100; depth++) {
    if (!current.folder_parent_id) break;
    const parent = all.find((f) => f.id === current.folder_parent_id);
    if (!parent) break;
    path.unshift(parent.name);
    current = parent;
  }
  return path.join('/');
}
