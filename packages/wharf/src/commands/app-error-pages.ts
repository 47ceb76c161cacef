/**
 * Custom error pages served by kamal-proxy (Kamal's Commands::App::ErrorPages):
 * `{4??,5??}.html` from error_pages_path are uploaded (mode 0700) to
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
