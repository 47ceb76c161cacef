export { UserError } from './util/errors.js';
export { fleetUp, fleetDown, fleetStatus, fleetDescription } from './fleet/fleet.js';
export type { FleetDescription } from './fleet/plan.js';
export { findEngine, requireEngine, ensureEngine } from './docker/engine.js';
export { DockerClient } from './docker/client.js';
export { WHARF_VERSION } from './version.js';
