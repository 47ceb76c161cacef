/** Public API of the configuration loader. */
export {
  loadConfig,
  loadConfigFromSources,
  deepMergeConfig,
  destinationFile,
  type LoadOptions,
  type ConfigSource,
} from './load.js';
export { Config, KAMAL_COMPATIBLE_VERSION, type ConfigContext } from './config.js';
export { Role, tagHosts } from './role.js';
export { Accessory, type AccessoryPath } from './accessory.js';
export { Builder, localDockerArch } from './builder.js';
export { Env, envFileContent, type SecretLookup, type SecretRef } from './env.js';
export { Logging } from './logging.js';
export {
  Proxy,
  ProxyRun,
  ProxyBoot,
  PROXY_MINIMUM_VERSION,
  PROXY_CONTAINER_NAME,
  PROXY_DEFAULT_LOG_REQUEST_HEADERS,
  PROXY_APPS_CONTAINER_DIRECTORY,
  PROXY_CONFIG_VOLUME,
} from './proxy.js';
export { Registry, Ssh, Sshkit, Boot, type Credential } from './sections.js';
export {
  ConfigError,
  formatProblem,
  dottedPath,
  suggestKey,
  type ConfigProblem,
  type KeyPath,
} from './problems.js';
export { argumentize, optionize, escapeShellValue, present, rubyString } from './shell-args.js';
export { renderErb, ErbError, type ErbContext } from './erb.js';
export { readYaml, resolvePlainScalar } from './yaml-reader.js';
export { kamalHash, kamalConfigYaml, REDACTED } from './kamal-hash.js';
export { sectionDocs, SECTION_NAMES } from './docs.js';
export { deployJsonSchema } from './json-schema.js';
export { checkShape } from './shape-check.js';
export { checkSemantics, BUILT_IN_COMMANDS } from './semantics.js';
export type { RawConfig, RawRole, RawProxy, RawAccessory, RawBuilder, RawRegistry } from './schema.js';
export { selectTargets, filterSpecificItems, fnmatch, type Targets, type TargetOptions } from './targets.js';
