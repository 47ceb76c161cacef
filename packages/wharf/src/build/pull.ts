/**
 * Pulling the built image onto the servers (`kamal build pull`), as command
 * data for the SSH layer: registry login (password through the environment,
 * never in the command line; skipped for a local registry), remove the old
 * image, pull, and check the image carries the `service` label. `pullOnHosts`
 * runs those steps on every host in parallel through whatever remote exec it
 * is given (SshPool#exec in wharf, plain `ssh` in tests).
 */
import { shellRaw, shellJoin, type ShellWord } from '../ssh/quote.js';
import { UserError } from '../util/errors.js';
import { isLocalRegistry, localRegistryPort } from './spec.js';

export interface RemoteStep {
  /** What the step does, for logs and errors ("pull the app image"). */
  step: string;
  command: ShellWord[];
  /** Environment for the command; the SSH layer sends values on stdin, never in the command line. */
  env?: Record<string, string>;
  /** A non-zero exit is ignored (Kamal's raise_on_non_zero_exit: false). */
  mayFail?: boolean;
}

export interface PullSpec {
  service: string;
  /** `<repository>:<version>`. */
  image: string;
  registry: { server?: string; username?: string; password?: string };
}

const IMAGE_RE = /^[a-z0-9][a-z0-9._/:@-]*$/;

function checkPullSpec(spec: PullSpec): void {
  if (!IMAGE_RE.test(spec.image))
    throw new UserError(`The image "${spec.image}" is not a valid image reference.`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.service)) {
    throw new UserError(
      `The service name "${spec.service}" is not valid; use letters, digits, "-", "_" and ".".`,
    );
  }
}

/** Registry login on a server; undefined for a local registry. */
export function remoteLoginStep(registry: PullSpec['registry']): RemoteStep | undefined {
  if (isLocalRegistry(registry.server)) return undefined;
  if (!registry.username || !registry.password) {
    throw new UserError(
      `registry.username and registry.password are required to log in to ${registry.server ?? 'Docker Hub'}; set both in config/deploy.yml (or use a localhost:PORT registry).`,
    );
  }
  return {
    step: `log in to ${registry.server ?? 'Docker Hub'}`,
    command: [
      shellRaw(`printf '%s\\n' "$WHARF_REGISTRY_PASSWORD" |`),
      'docker',
      'login',
      ...(registry.server ? [registry.server] : []),
      '-u',
      shellRaw('"$WHARF_REGISTRY_USERNAME"'),
      '--password-stdin',
    ],
    env: { WHARF_REGISTRY_USERNAME: registry.username, WHARF_REGISTRY_PASSWORD: registry.password },
  };
}

/** `docker image rm --force IMG` (failure ignored). */
export function cleanStep(image: string): RemoteStep {
  return {
    step: 'remove the old image',
    command: ['docker', 'image', 'rm', '--force', image],
    mayFail: true,
  };
}

/** `docker pull IMG`. */
export function pullStep(image: string): RemoteStep {
  return { step: 'pull the image', command: ['docker', 'pull', image] };
}

/** Kamal's label check: `docker inspect -f '{{ .Config.Labels.service }}' IMG | grep -x SERVICE || (echo "Image IMG is missing the 'service' label" && exit 1)`. */
export function validateImageStep(spec: Pick<PullSpec, 'image' | 'service'>): RemoteStep {
  checkPullSpec({ ...spec, registry: {} });
  return {
    step: "check the image's service label",
    command: [
      'docker',
      'inspect',
      '-f',
      '{{ .Config.Labels.service }}',
      spec.image,
      shellRaw('|'),
      'grep',
      '-x',
      spec.service,
      shellRaw('||'),
      shellRaw(`(echo "Image ${spec.image} is missing the 'service' label" && exit 1)`),
    ],
  };
}

/** `docker info --format '{{index .RegistryConfig.Mirrors 0}}'`: the first registry mirror (pull seeding). */
export function firstMirrorStep(): RemoteStep {
  return {
    step: 'read the registry mirror',
    command: ['docker', 'info', '--format', '{{index .RegistryConfig.Mirrors 0}}'],
    mayFail: true,
  };
}

/** The steps on each server, in order: login (unless local registry), clean, pull, validate. */
export function planPull(spec: PullSpec): RemoteStep[] {
  checkPullSpec(spec);
  const login = remoteLoginStep(spec.registry);
  return [...(login ? [login] : []), cleanStep(spec.image), pullStep(spec.image), validateImageStep(spec)];
}

/** The shell text of a step (what the SSH layer runs and logs; env values are not in it). */
export function stepText(step: RemoteStep): string {
  return shellJoin(step.command);
}

/** The shape of SshPool#exec that pulling needs. */
export type RemoteExec = (
  host: string,
  command: ShellWord[],
  options: { step: string; env?: Record<string, string> },
) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface PullOptions {
  /** Progress lines ("Pulling image on …"). */
  log?: (line: string) => void;
}

/** The last non-empty line of a command's output, without a closing full stop (for one-sentence errors). */
export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  ).replace(/\.$/, '');
}

async function runSteps(host: string, steps: RemoteStep[], exec: RemoteExec): Promise<void> {
  for (const step of steps) {
    const result = await exec(host, step.command, {
      step: step.step,
      ...(step.env ? { env: step.env } : {}),
    });
    if (result.code !== 0 && !step.mayFail) {
      const said = lastLine(result.stderr) || lastLine(result.stdout) || `exit code ${result.code}`;
      throw new UserError(`Could not ${step.step} on ${host}: ${said}.`);
    }
  }
}

/**
 * Pulls on every host in parallel. With more than one host, reads each host's
 * first registry mirror and pulls on one host per mirror first to seed it
 * (as Kamal does). Waits for every host, then reports all failures at once.
 */
export async function pullOnHosts(
  hosts: readonly string[],
  spec: PullSpec,
  exec: RemoteExec,
  options: PullOptions = {},
): Promise<void> {
  const steps = planPull(spec);
  const log = options.log ?? (() => {});
  const runAll = async (group: readonly string[]) => {
    const results = await Promise.allSettled(group.map((host) => runSteps(host, steps, exec)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const messages = failures.map((f) => (f instanceof Error ? f.message.replace(/\.$/, '') : String(f)));
      throw new UserError(`Pulling the image failed on ${failures.length} hosts: ${messages.join('; ')}.`);
    }
  };
  let first: string[] = [];
  if (hosts.length > 1) {
    const mirrors = new Map<string, string>();
    const mirror = firstMirrorStep();
    await Promise.all(
      hosts.map(async (host) => {
        const result = await exec(host, mirror.command, { step: mirror.step });
        const value = result.code === 0 ? result.stdout.trim() : '';
        if (value && !mirrors.has(value)) mirrors.set(value, host);
      }),
    );
    first = [...mirrors.values()];
  }
  if (first.length > 0) {
    log(`Pulling image on ${first.join(', ')} to seed the ${first.length > 1 ? 'mirrors' : 'mirror'}...`);
    await runAll(first);
    log('Pulling image on remaining hosts...');
    await runAll(hosts.filter((h) => !first.includes(h)));
  } else {
    await runAll(hosts);
  }
}

/**
 * The port servers must reach through an SSH remote forward while pulling
 * from Kamal's local registry (`registry.server: localhost:PORT`), or
 * undefined for a real registry. Wrap pullOnHosts in
 * `pool.withRemoteForward(hosts, { remotePort: port }, …)` when defined.
 */
export function registryForwardPort(registry: PullSpec['registry']): number | undefined {
  return isLocalRegistry(registry.server) ? localRegistryPort(registry.server!) : undefined;
}
