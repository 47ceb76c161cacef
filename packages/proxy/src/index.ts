// wharf-proxy's programmatic API: start the proxy in-process, run the CLI,
// or call a running proxy over its control socket.
export { startProxyServer, DEFAULT_LIMITS } from './server/proxy-server.js';
export type { ProxyServerOptions, ProxyServerHandle, ProxyLimits } from './server/proxy-server.js';
export { main, deployArgsFromFlags, formatServiceTable } from './cli/main.js';
export { callServer } from './control/client.js';
export { defaultSocketPath } from './control/socket-path.js';
export type { Calls, Method } from './control/protocol.js';
export type { DeployArgs, RolloutDeployArgs, ServiceDescription } from './router.js';
export {
  DEFAULTS,
  defaultServiceOptions,
  defaultTargetOptions,
  defaultDeploymentOptions,
} from './options.js';
export type { ServiceOptions, TargetOptions, DeploymentOptions, HealthCheckOptions } from './options.js';
export { ProxyError } from './errors.js';
export type { AcmeSettings } from './acme/manager.js';
export { parseDuration, formatDuration } from './duration.js';
