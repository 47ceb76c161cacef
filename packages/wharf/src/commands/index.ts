/**
 * Commands are data: pure functions and small classes that turn the loaded
 * config into the exact remote commands Kamal 2 runs (same host layout, names
 * and labels), as arrays of shell words. Run them with
 * `SshPool#exec(host, commandLine(cmd))`: pass the joined string, never the
 * array (the SSH layer would quote the words a second time).
 *
 * Where the text differs from Kamal's on purpose:
 * - registry login: `printf '%s\n' "$WHARF_REGISTRY_PASSWORD" | docker login
 *   <server> -u "$WHARF_REGISTRY_USERNAME" --password-stdin`, credentials in
 *   the env the SSH layer sends on stdin (Kamal: `-u "user" -p "password"`);
 * - accessory logs: single spaces (Kamal doubles the space before --since/--tail);
 * - grep patterns are escaped for the quotes they sit in (Kamal pastes them raw);
 * - `-it` vs `-i` comes from a `tty` option (Kamal reads STDIN.isatty itself);
 * - hooks get every KAMAL_* detail again as WHARF_*.
 */
export {
  type Command,
  type EnvCommand,
  commandLine,
  combine,
  chain,
  pipe,
  any,
  append,
  write,
  substitute,
  xargs,
  shell,
  docker,
  makeDirectory,
  makeDirectoryFor,
  removeDirectory,
  removeFile,
  containerIdFor,
  filterArgs,
  dockerInteractiveArgs,
  runOverSsh,
  singleQuoted,
  doubleQuoted,
  iso8601,
  DOCKER_HEALTH_STATUS_FORMAT,
  DOCKER_HEALTH_LOG_FORMAT,
  DOCKER_NETWORK,
} from './base.js';
export { Tags, serviceVersion, type Stamp, type TagValue } from './tags.js';
export {
  AppCommands,
  ACTIVE_DOCKER_STATUSES,
  containerHostname,
  defaultLogLines,
  staleVersions,
  type RemoteFile,
  type LogOptions,
  type ExecOptions,
} from './app.js';
export { extractAssets, syncAssetVolumes, cleanUpAssets } from './app-assets.js';
export {
  ERROR_PAGES_PATTERN,
  errorPagesDirectory,
  errorPagesVersionDirectory,
  createErrorPagesDirectory,
  cleanUpErrorPages,
} from './app-error-pages.js';
export {
  ProxyCommands,
  proxyExec,
  isOlderVersion,
  proxyVersionTooOld,
  PROXY_IMAGE_TITLE_FILTER,
  type BootConfigOptions,
  type BootConfigFile,
} from './proxy.js';
export {
  LockCommands,
  encode64,
  lockDetails,
  LOCK_HELD_MARKER,
  AUTOMATIC_DEPLOY_LOCK_MESSAGE,
  type LockDetails,
} from './lock.js';
export { Auditor } from './auditor.js';
export { PruneCommands } from './prune.js';
export { RegistryCommands, LOCAL_REGISTRY_CONTAINER } from './registry.js';
export * as dockerCommands from './docker.js';
export { NETWORK_EXISTS_MARKER } from './docker.js';
export { HookCommands, HOOK_NAMES, type HookDetails } from './hook.js';
export { ServerCommands } from './server.js';
export { AccessoryCommands, type PathStep } from './accessory.js';
