/**
 * The step of `app boot` before any container starts (Kamal's App::ErrorPages
 * and App::Assets, run on every app host): the error pages of error_pages_path
 * are uploaded for this version, and each role with an asset_path gets the new
 * image's assets extracted and merged with the running version's, so that
 * both versions serve both sets while traffic moves over. After the old
 * container stops, `cleanUpAfterBoot` removes the other versions' copies.
 */
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppCommands } from '../commands/app.js';
import {
  cleanUpErrorPages,
  ERROR_PAGES_PATTERN,
  errorPageUploads,
  type ErrorPage,
} from '../commands/app-error-pages.js';
import { combine, commandLine, type Command } from '../commands/base.js';
import type { Config, Role } from '../config/index.js';
import { UserError } from '../util/errors.js';
import type { Remote } from './remote.js';

/**
 * The `{4??,5??}.html` files of error_pages_path (relative to the project
 * directory); none when the key is unset. A missing directory, or one without
 * such pages, is an error here (Kamal uploads nothing and the proxy deploy then
 * fails on the --error-pages directory that does not exist).
 */
export async function readErrorPages(config: Config): Promise<ErrorPage[]> {
  const path = config.errorPagesPath;
  if (path === undefined || path === '') return [];
  const dir = resolve(config.cwd, path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new UserError(
      `error_pages_path ${path} in ${config.files[0] ?? 'the config'} can't be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); create the directory with 404.html, 503.html … or remove the key.`,
    );
  }
  const pages: ErrorPage[] = [];
  for (const name of names.filter((n) => ERROR_PAGES_PATTERN.test(n)).sort())
    pages.push({ name, content: await readFile(resolve(dir, name), 'utf8') });
  if (pages.length === 0)
    throw new UserError(
      `error_pages_path ${path} in ${config.files[0] ?? 'the config'} has no 4xx or 5xx pages (files named like 404.html or 503.html); add them or remove the key.`,
    );
  return pages;
}

/**
 * Extract the new image's assets, then print the running version as
 * `current=<version>` (one round trip; Kamal's extract_assets followed by
 * current_running_version).
 */
export function extractAssetsAndReadVersion(app: AppCommands): string {
  return `{ ${commandLine(app.extractAssets())} ; } > /dev/null && echo "current=$(${commandLine(app.currentRunningVersion())})"`;
}

/** Uploads this version's error pages to one host (nothing without pages). */
export async function uploadErrorPages(
  remote: Remote,
  config: Config,
  host: string,
  pages: readonly ErrorPage[],
): Promise<void> {
  await Promise.all(
    errorPageUploads(config, pages).map((upload) =>
      remote.upload(host, upload.path, upload.content, upload.mode, `upload the error page ${upload.path}`),
    ),
  );
}

/** Kamal's Assets#run for one role on one host: extract, then sync with the running version's assets. */
export async function prepareRoleAssets(
  remote: Remote,
  config: Config,
  role: Role,
  host: string,
): Promise<string | undefined> {
  if (!role.assets) return undefined;
  const app = new AppCommands(config, { role, host });
  const out = await remote.run(
    host,
    extractAssetsAndReadVersion(app),
    `extract the ${role.name} assets from ${config.absoluteImage}`,
  );
  const oldVersion = /^current=(.*)$/m.exec(out.stdout)?.[1]?.trim() || undefined;
  await remote.run(
    host,
    app.syncAssetVolumes({ oldVersion }),
    `merge the ${role.name} assets of ${config.version}${oldVersion ? ` and ${oldVersion}` : ''}`,
  );
  return oldVersion;
}

/**
 * What runs after a role's old container stopped (Kamal's stop_old_version):
 * other versions' assets of the role, and other versions' error pages.
 */
export function cleanUpAfterBoot(config: Config, role: Role, host: string): Command | undefined {
  const app = new AppCommands(config, { role, host });
  const parts: Command[] = [];
  if (role.assets) parts.push(app.cleanUpAssets());
  if (config.errorPagesPath !== undefined) parts.push(cleanUpErrorPages(config));
  return parts.length > 0 ? combine(parts) : undefined;
}
