export { createSecrets, secretsFilenames, inlineSecretsArgs, DEFAULT_SECRETS_PATH } from './secrets.js';
export type { Secrets, SecretsOptions } from './secrets.js';
export { Redactor, REDACTED, MIN_REDACTED_LENGTH } from './redactor.js';
export { parseDotenv, expandVariables } from './dotenv.js';
export type { DotenvContext } from './dotenv.js';
export {
  fetchSecrets,
  formatSecretsJson,
  extractSecret,
  formatSecretsPrint,
  runInlineSecretsCommand,
} from './commands.js';
export type { FetchRequest, SecretsCommandContext } from './commands.js';
export {
  AdapterRegistry,
  defaultAdapters,
  registerAdapter,
  COMMAND_ADAPTER_PREFIX,
} from './adapters/registry.js';
export { commandAdapter } from './adapters/command.js';
export type { CommandAdapterOptions } from './adapters/command.js';
export type { SecretsAdapter, SecretValues, FetchOptions, AdapterContext } from './adapters/base.js';
export { spawnRunner, chomp } from './runner.js';
export type { CommandRunner, RunOptions, RunResult } from './runner.js';
export { shellEscape, shellSplit } from './shellwords.js';
