/** wharf as a library: the same pieces the CLI is made of. */
export { UserError } from './util/errors.js';
export { WHARF_VERSION } from './version.js';
export { fleetUp, fleetDown, fleetStatus, fleetDescription } from './fleet/fleet.js';
export type { FleetDescription } from './fleet/plan.js';
export { findEngine, requireEngine, ensureEngine } from './docker/engine.js';
export { DockerClient } from './docker/client.js';
export { loadConfig, selectTargets, type Config, type Targets } from './config/index.js';
export {
  createSecrets,
  Redactor,
  AdapterRegistry,
  defaultAdapters,
  registerAdapter,
  commandAdapter,
} from './secrets/index.js';
export type { Secrets, SecretsOptions, SecretsAdapter } from './secrets/index.js';
export { SshPool } from './ssh/index.js';
export { Context } from './runtime/context.js';
export { Reporter } from './runtime/reporter.js';
export { deploy, rollback, formatSummary, type DeployOptions, type DeploySummary } from './deploy/deploy.js';
