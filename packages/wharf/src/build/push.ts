/**
 * `wharf build push` (Kamal's `build push`): log in or start the local
 * registry, build from a clean clone of the current commit (or from
 * builder.context), make sure the buildx builder exists, then build and push
 * `<repo>:<version>` and `<repo>:latest[-dest]`. Also `build dev`: the working
 * tree, tagged `-dirty`, into the local image store.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DockerClient } from '../docker/client.js';
import { UserError } from '../util/errors.js';
import { cloneDirectoryFor, prepareClone } from './clone.js';
import { withLocalLock } from '../util/lock.js';
import { failureSentence, summarizeFailure } from './failure.js';
import { gitModifiedFiles, gitUncommittedChanges, gitUntrackedFiles, gitUsed } from './git.js';
import { planBuild, type BuildOptions, type BuildPlan } from './plan.js';
import {
  loginCommand,
  localRegistrySetupCommands,
  registryAnswers,
  type RegistryCredentials,
} from './registry.js';
import { runStreaming } from './runner.js';
import { ensureBuilder } from './scripts.js';
import { builderView, isLocalRegistry, localRegistryPort, type BuildSpec } from './spec.js';
import { displayText } from './words.js';

export interface PushInput {
  spec: BuildSpec;
  client: DockerClient;
  /** The app's directory (where deploy.yml's project lives); default process.cwd(). */
  cwd?: string;
  /** Registry credentials for the local `docker login` (server comes from spec.registryServer when unset). */
  registry?: RegistryCredentials;
  /** Values of the secrets named in builder.secrets. */
  secrets?: Readonly<Record<string, string>>;
  options?: BuildOptions;
  /** Build and push output, line by line (secrets redacted). */
  onLine?: (line: string) => void;
  /** Progress ("Cloning repo into …", commands run). */
  log?: (line: string) => void;
  /** Warnings (uncommitted changes, ignored settings). */
  warn?: (line: string) => void;
  /** Runs after login and before the clone (Kamal's pre-build hook). */
  preBuild?: () => Promise<void>;
  /** Where the clone cache lives (default the OS temp dir). */
  tmpdir?: string;
}

export interface PushResult {
  plan: BuildPlan;
  /** The tags built (and pushed when plan.pushes). */
  tags: string[];
  /** Where the build ran (the clone, or cwd). */
  buildDirectory: string;
  /** `git status --porcelain` of the working tree ('' when clean or not a repository). */
  uncommittedChanges: string;
}

function secretEnv(
  plan: BuildPlan,
  secrets: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of plan.secretNames) {
    const value = secrets?.[name];
    if (value === undefined) {
      throw new UserError(
        `builder.secrets lists ${name}, but no secret ${name} is set; add it to .kamal/secrets (or the destination's secrets file) and run again.`,
      );
    }
    env[name] = value;
  }
  return env;
}

async function ensureRegistryAccess(
  input: PushInput,
  plan: BuildPlan,
  log: (l: string) => void,
): Promise<void> {
  const server = input.registry?.server ?? input.spec.registryServer;
  if (isLocalRegistry(server)) {
    const port = localRegistryPort(server!);
    if (await registryAnswers(port)) return;
    const [start, run] = localRegistrySetupCommands(port);
    log(`${displayText(start)} || ${displayText(run)}`);
    if ((await runStreaming(start, { client: input.client })).code === 0) return;
    const result = await runStreaming(run, {
      client: input.client,
      ...(input.onLine ? { onLine: input.onLine } : {}),
    });
    if (result.code !== 0) {
      throw new UserError(
        `Starting the local registry on 127.0.0.1:${port} failed: ${summarizeFailure(result.tail).reason || 'docker failed'}; free the port or start a registry there yourself.`,
      );
    }
    return;
  }
  // Remote builders push from the builder host; Kamal logs in locally only for local builds.
  if (plan.kind === 'remote' || plan.kind === 'hybrid' || !plan.pushes) return;
  const registry = { ...input.registry, ...(server !== undefined ? { server } : {}) };
  if (!registry.username || !registry.password) {
    throw new UserError(
      `registry.username and registry.password are required to push to ${server ?? 'Docker Hub'}; set both in config/deploy.yml (or use a localhost:PORT registry).`,
    );
  }
  const login = loginCommand(registry)!;
  log(displayText(login));
  const result = await runStreaming(login, { client: input.client, stdin: `${registry.password}\n` });
  if (result.code !== 0) {
    throw new UserError(
      `Logging in to ${server ?? 'Docker Hub'} as ${registry.username} failed: ${summarizeFailure(result.tail).reason || 'docker login failed'}; check registry.username and registry.password.`,
    );
  }
}

function checkDockerfile(
  plan: BuildPlan,
  buildDirectory: string,
  cwd: string,
  cloned: boolean,
  revision?: string,
): void {
  if (existsSync(resolve(buildDirectory, plan.dockerfile))) return;
  if (cloned && existsSync(resolve(cwd, plan.dockerfile))) {
    throw new UserError(
      `${plan.dockerfile} is not in commit ${revision?.slice(0, 12) ?? 'HEAD'} (wharf builds from a clean clone of the current commit); commit it, or set builder.context to build from the working tree.`,
    );
  }
  throw new UserError(
    `Missing ${plan.dockerfile} in ${buildDirectory}; create it or point builder.dockerfile at your Dockerfile.`,
  );
}

async function runPlan(
  input: PushInput,
  plan: BuildPlan,
  buildDirectory: string,
  log: (l: string) => void,
): Promise<void> {
  const env = secretEnv(plan, input.secrets);
  const [build, ...pushes] = plan.commands;
  log(displayText(build!));
  const built = await runStreaming(build!, {
    client: input.client,
    cwd: buildDirectory,
    env,
    ...(input.onLine ? { onLine: input.onLine } : {}),
  });
  if (built.code !== 0) {
    throw new UserError(
      failureSentence(
        `Building ${plan.tags[0]}`,
        summarizeFailure(built.tail),
        'fix the Dockerfile or build settings and run again',
      ),
    );
  }
  for (const push of pushes) {
    log(displayText(push));
    const pushed = await runStreaming(push, {
      client: input.client,
      ...(input.onLine ? { onLine: input.onLine } : {}),
    });
    if (pushed.code !== 0) {
      const tag = push.words[push.words.length - 1]!.value;
      throw new UserError(
        failureSentence(
          `Pushing ${tag}`,
          { reason: summarizeFailure(pushed.tail).reason },
          'check that the registry is reachable and that you may push to it',
        ),
      );
    }
  }
}

/** `wharf build push`. */
export async function buildAndPush(input: PushInput): Promise<PushResult> {
  const cwd = input.cwd ?? process.cwd();
  const log = input.log ?? (() => {});
  const warn = input.warn ?? log;
  const plan = planBuild(input.spec, input.options);
  const view = builderView(input.spec);
  if (view.localRegistry && (plan.kind === 'remote' || plan.kind === 'hybrid')) {
    throw new UserError(
      'A remote builder with a localhost registry needs an SSH port forward that wharf does not set up yet; build locally (remove builder.remote) or use a real registry.',
    );
  }
  for (const warning of plan.warnings) warn(warning);

  await ensureRegistryAccess(input, plan, log);
  await input.preBuild?.();

  const inRepo = await gitUsed(cwd);
  const uncommittedChanges = inRepo ? await gitUncommittedChanges(cwd) : '';
  const cloned = inRepo && input.spec.builder.context === undefined;
  const build = async (): Promise<string> => {
    let buildDirectory = cwd;
    let revision: string | undefined;
    if (cloned) {
      if (uncommittedChanges) {
        warn(
          `Building from a local git clone, so ignoring these uncommitted changes:\n ${uncommittedChanges}`,
        );
      }
      const clone = await prepareClone({
        service: input.spec.service,
        cwd,
        log,
        ...(input.tmpdir ? { tmpdir: input.tmpdir } : {}),
      });
      buildDirectory = clone.buildDirectory;
      revision = clone.revision;
    } else if (uncommittedChanges) {
      warn(`Building with uncommitted changes:\n ${uncommittedChanges}`);
    }
    checkDockerfile(plan, buildDirectory, cwd, cloned, revision);
    if (plan.builderName) await ensureBuilder(input.spec, { client: input.client, log, warn });
    await runPlan(input, plan, buildDirectory, log);
    return buildDirectory;
  };
  let buildDirectory: string;
  if (cloned) {
    // Two wharf processes building the same app must not reset the clone under each other's build.
    const cloneDirectory = cloneDirectoryFor({
      service: input.spec.service,
      cwd,
      ...(input.tmpdir ? { tmpdir: input.tmpdir } : {}),
    });
    await mkdir(dirname(cloneDirectory), { recursive: true });
    buildDirectory = await withLocalLock(
      `${cloneDirectory}.lock`,
      `the build clone ${cloneDirectory}`,
      build,
      3_600_000,
    );
  } else {
    buildDirectory = await build();
  }
  return { plan, tags: plan.tags, buildDirectory, uncommittedChanges };
}

/**
 * `wharf build dev`: builds the working tree as it is (no clone), tags
 * `-dirty`, output `docker` (the local image store) unless told otherwise,
 * and warns about uncommitted and untracked files.
 */
export async function buildDev(input: PushInput): Promise<PushResult> {
  const cwd = input.cwd ?? process.cwd();
  const log = input.log ?? (() => {});
  const warn = input.warn ?? log;
  const options: BuildOptions = {
    ...input.options,
    output: input.options?.output ?? 'docker',
    tagAsDirty: true,
  };
  const plan = planBuild(input.spec, options);
  for (const warning of plan.warnings) warn(warning);
  const inRepo = await gitUsed(cwd);
  const uncommittedChanges = inRepo ? await gitUncommittedChanges(cwd) : '';
  if (inRepo) {
    const modified = (await gitModifiedFiles(cwd)).sort();
    if (modified.length > 0) {
      warn(
        `WARNING: Files with uncommitted changes will be present in the dev container:\n${modified.map((f) => `  ${f}`).join('\n')}`,
      );
    }
    const untracked = (await gitUntrackedFiles(cwd)).sort();
    if (untracked.length > 0) {
      warn(
        `WARNING: Untracked files will be present in the dev container:\n${untracked.map((f) => `  ${f}`).join('\n')}`,
      );
    }
  }
  if (plan.pushes) await ensureRegistryAccess(input, plan, log);
  checkDockerfile(plan, cwd, cwd, false);
  if (plan.builderName) await ensureBuilder(input.spec, { client: input.client, log, warn });
  await runPlan(input, plan, cwd, log);
  return { plan, tags: plan.tags, buildDirectory: cwd, uncommittedChanges };
}
