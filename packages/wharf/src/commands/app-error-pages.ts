/**
 * Custom error pages served by kamal-proxy (Kamal's Commands::App::ErrorPages):
 * `{4??,5??}.html` from error_pages_path are uploaded (readable by the proxy) to
 * `.kamal/proxy/apps-config/<app>/error_pages/<version>/`, which the proxy sees
 * under /home/kamal-proxy/.apps-config; other versions are removed after a boot.
 */
import type { Config } from '../config/index.js';
import { makeDirectory, type Command } from './base.js';

/** Files of error_pages_path that are uploaded (Kamal's glob). */
export const ERROR_PAGES_PATTERN = /^[45]..\.html$/;

/** `.kamal/proxy/apps-config/<service>[-<dest>]/error_pages` */
export function errorPagesDirectory(config: Config): string {
  return config.proxyBoot.errorPagesDirectory;
}

/** Where this version's pages go on the host. */
export function errorPagesVersionDirectory(config: Config, version = config.version): string {
  return `${errorPagesDirectory(config)}/${version}`;
}

/** `mkdir -p .kamal/proxy/apps-config/<app>/error_pages` */
export function createErrorPagesDirectory(config: Config): Command {
  return makeDirectory(errorPagesDirectory(config));
}

/** Remove every version's pages except the current one. */
export function cleanUpErrorPages(config: Config): Command {
  return [
    'find',
    errorPagesDirectory(config),
    '-mindepth',
    '1',
    '-maxdepth',
    '1',
    '!',
    '-name',
    config.version,
    '-exec',
    'rm',
    '-rf',
    '{} +',
  ];
}

export interface ErrorPage {
  /** File name, e.g. `503.html`. */
  name: string;
  content: string;
}

/**
 * Mode of the uploaded pages. Kamal asks for 0700, but the proxy runs as its
 * own user (kamal-proxy / wharf-proxy) and must read them: 0700 pages owned
 * by the SSH user fail the proxy deploy with EACCES, so they are 0644.
 */
export const ERROR_PAGE_MODE = 0o644;

/**
 * The uploads that put error pages in place for a version:
 * `.kamal/proxy/apps-config/<app>/error_pages/<version>/<name>` each.
 */
export function errorPageUploads(
  config: Config,
  pages: readonly ErrorPage[],
  version = config.version,
): { path: string; content: string; mode: number }[] {
  const dir = errorPagesVersionDirectory(config, version);
  return [...pages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((page) => ({ path: `${dir}/${page.name}`, content: page.content, mode: ERROR_PAGE_MODE }));
}
