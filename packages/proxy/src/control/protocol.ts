// The control protocol: one JSON line per call over a Unix socket,
// {"method":..., "args":...} answered by {"ok":true,"result":...} or
// {"ok":false,"error":"<sentence>"}. Calls block until the work is done.
import type { DeployArgs, RolloutDeployArgs, ServiceDescription } from '../router.js';

export interface Calls {
  Deploy: { args: DeployArgs; result: null };
  Remove: { args: { service: string }; result: null };
  Pause: { args: { service: string; drainTimeoutMs: number; pauseTimeoutMs: number }; result: null };
  Stop: { args: { service: string; drainTimeoutMs: number; message: string }; result: null };
  Resume: { args: { service: string }; result: null };
  List: { args: Record<string, never>; result: Record<string, ServiceDescription> };
  RolloutDeploy: { args: RolloutDeployArgs; result: null };
  RolloutSet: { args: { service: string; percentage: number; allowlist: string[] }; result: null };
  RolloutStop: { args: { service: string }; result: null };
}

export type Method = keyof Calls;

export interface CallMessage {
  method: Method;
  args: unknown;
}

export type ReplyMessage = { ok: true; result: unknown } | { ok: false; error: string };
