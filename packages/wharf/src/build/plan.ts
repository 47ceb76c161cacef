/**
 * Pure planning of the image build: a BuildSpec in, the exact commands out.
 * With buildx the commands are Kamal's (`docker buildx build
 * --output=type=registry …`, builder names, create/remove/inspect); without
 * it wharf plans a plain `docker build` followed by one `docker push` per tag,
 * and refuses what only buildx can do in one sentence.
 */
import { UserError } from '../util/errors.js';
import {
  builderView,
  latestImage,
  versionedImage,
  type BuilderKind,
  type BuilderView,
  type BuildSpec,
} from './spec.js';
import { command, keyValue, w, words, type Command, type Word } from './words.js';

export interface BuildOptions {
  /** buildx `--output=type=…`: `registry` (build and push, the default) or `docker` (local image store) or any buildx type. */
  output?: string;
  noCache?: boolean;
  /** `kamal build dev`: tags get a `-dirty` suffix. */
  tagAsDirty?: boolean;
}

export interface BuildPlan {
  kind: BuilderKind;
  /** The buildx builder, when one is used. */
  builderName?: string;
  /** The tags the build produces, versioned first. */
  tags: string[];
  /** The build, then (plain docker build with output registry) one push per tag. */
  commands: Command[];
  /** Secret names the build reads from its environment (values come from the runner, never from the plan). */
  secretNames: string[];
  /** Whether the tags end up in the registry. */
  pushes: boolean;
  dockerfile: string;
  context: string;
  /** Settings wharf had to ignore, one sentence each. */
  warnings: string[];
}

function tagsOf(spec: BuildSpec, tagAsDirty: boolean): string[] {
  const tags = [versionedImage(spec), latestImage(spec)];
  return tagAsDirty ? tags.map((t) => `${t}-dirty`) : tags;
}

/** argumentize with a bare value: `--target prod` (Kamal does not quote these). */
function bare(flag: string, value: string | boolean | undefined): Word[] {
  if (value === undefined || value === '') return [];
  return [w(flag), w(String(value))];
}

function buildArgWords(args: BuildSpec['builder']['args']): Word[] {
  return Object.entries(args ?? {}).flatMap(([key, value]) => {
    if (value === false) return [w('--build-arg'), w(`${key}=false`)];
    const text = String(value);
    if (text.trim() === '') return [w('--build-arg'), w(key)];
    return [w('--build-arg'), keyValue(key, text, { sensitive: true })];
  });
}

function labelWords(spec: BuildSpec): Word[] {
  return [w('--label'), keyValue('service', spec.service)];
}

function checkNames(spec: BuildSpec): void {
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(spec.service)) {
    throw new UserError(
      `The service name "${spec.service}" is not valid; use letters, digits, "-", "_" and ".".`,
    );
  }
  if (!/^[a-z0-9][a-z0-9._/:-]*$/.test(spec.repository) || spec.repository.endsWith(':')) {
    throw new UserError(
      `The image "${spec.repository}" is not a valid repository name; use lowercase letters, digits, ".", "-", "_" and "/" (and registry.server for the host).`,
    );
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(spec.version)) {
    throw new UserError(
      `The version "${spec.version}" is not a valid image tag; use up to 128 letters, digits, "_", "." and "-".`,
    );
  }
  for (const name of spec.builder.secrets ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UserError(
        `builder.secrets entry "${name}" is not a valid secret name; use letters, digits and "_" (it is passed as an environment variable).`,
      );
    }
  }
}

/** Plans the build (and, without buildx, the pushes) for `kamal build push` / `dev`. */
export function planBuild(spec: BuildSpec, options: BuildOptions = {}): BuildPlan {
  checkNames(spec);
  if (spec.builder.pack !== undefined && spec.builder.pack !== null && spec.builder.pack !== false) {
    throw new UserError(
      'builder.pack (Cloud Native Buildpacks) is not supported by wharf; build with a Dockerfile instead and remove builder.pack.',
    );
  }
  const view = builderView(spec);
  view.validate();
  return spec.capabilities.buildx ? planBuildx(spec, view, options) : planDockerBuild(spec, view, options);
}

function planBuildx(spec: BuildSpec, view: BuilderView, options: BuildOptions): BuildPlan {
  const output = options.output ?? 'registry';
  const tags = tagsOf(spec, options.tagAsDirty ?? false);
  const kind = view.buildxKind;
  const secrets = [...(spec.builder.secrets ?? [])];
  const cacheTo = view.cacheTo;
  const cacheFrom = view.cacheFrom;
  const arches = view.arches;
  const build: Word[] = [
    ...words('docker', 'buildx', 'build', `--output=type=${output}`),
    ...(arches.length > 0 ? words('--platform', arches.map((a) => `linux/${a}`).join(',')) : []),
    ...(view.dockerDriver ? [] : words('--builder', view.builderName)),
    ...tags.flatMap((t) => words('-t', t)),
    ...(cacheTo && cacheFrom ? words('--cache-to', cacheTo, '--cache-from', cacheFrom) : []),
    ...labelWords(spec),
    ...buildArgWords(spec.builder.args),
    ...secrets.flatMap((name) => [w('--secret'), keyValue('id', name)]),
    ...words('--file', view.dockerfile),
    ...bare('--target', spec.builder.target),
    ...sshWords(spec.builder.ssh),
    ...bare('--provenance', spec.builder.provenance),
    ...bare('--sbom', spec.builder.sbom),
    ...(options.noCache ? words('--no-cache') : []),
    w(view.context),
  ];
  const env = kind === 'remote' || kind === 'hybrid' ? { BUILDKIT_NO_CLIENT_TOKEN: '1' } : undefined;
  return {
    kind,
    ...(view.dockerDriver ? {} : { builderName: view.builderName }),
    tags,
    commands: [command(build, env)],
    secretNames: secrets,
    pushes: output === 'registry',
    dockerfile: view.dockerfile,
    context: view.context,
    warnings: [],
  };
}

function sshWords(ssh: string | undefined): Word[] {
  if (ssh === undefined || ssh === '') return [];
  return [w('--ssh'), { value: ssh, text: ssh, expand: true }];
}

const NEEDS_BUILDX = 'install the docker buildx plugin';

function planDockerBuild(spec: BuildSpec, view: BuilderView, options: BuildOptions): BuildPlan {
  const output = options.output ?? 'registry';
  const buildkit = spec.capabilities.buildkit ?? false;
  const engineArch = view.engineArch;
  if (view.cloud) {
    throw new UserError(
      `builder.driver "${view.driver}" (Docker Build Cloud) needs buildx; ${NEEDS_BUILDX}.`,
    );
  }
  if (spec.builder.remote !== undefined) {
    throw new UserError(
      `builder.remote (${spec.builder.remote}) needs buildx, which this machine's docker CLI lacks; ${NEEDS_BUILDX} or remove builder.remote.`,
    );
  }
  if (view.arches.length > 1 && spec.builder.arch === undefined) {
    throw new UserError(
      `builder.arch is not set, so the default is to build for amd64 and arm64, which needs buildx (missing on this machine); set builder.arch to ${engineArch} or ${NEEDS_BUILDX}.`,
    );
  }
  if (view.arches.length > 1) {
    throw new UserError(
      `builder.arch lists ${view.arches.join(' and ')}, but a multi-arch build needs buildx, which this machine's docker CLI lacks; ${NEEDS_BUILDX} or set builder.arch to ${engineArch}.`,
    );
  }
  if (view.arches.length === 1 && view.arches[0] !== engineArch) {
    throw new UserError(
      `builder.arch is ${view.arches[0]}, but without buildx docker build only builds for the engine's own architecture (${engineArch}); ${NEEDS_BUILDX} or set builder.arch to ${engineArch}.`,
    );
  }
  const secrets = [...(spec.builder.secrets ?? [])];
  if (!buildkit && secrets.length > 0) {
    throw new UserError(
      `builder.secrets (${secrets.join(', ')}) need BuildKit, which this machine's docker CLI can only use through buildx; ${NEEDS_BUILDX}, or remove builder.secrets.`,
    );
  }
  if (!buildkit && spec.builder.ssh) {
    throw new UserError(
      `builder.ssh needs BuildKit, which this machine's docker CLI can only use through buildx; ${NEEDS_BUILDX}, or remove builder.ssh.`,
    );
  }
  if (output !== 'registry' && output !== 'docker') {
    throw new UserError(`--output ${output} needs buildx; use registry or docker, or ${NEEDS_BUILDX}.`);
  }
  const warnings: string[] = [];
  if (view.cached)
    warnings.push('Ignoring builder.cache: plain docker build (no buildx) cannot export a build cache.');
  if (spec.builder.provenance !== undefined && spec.builder.provenance !== false) {
    warnings.push('Ignoring builder.provenance: plain docker build (no buildx) cannot attach attestations.');
  }
  if (spec.builder.sbom !== undefined && spec.builder.sbom !== false) {
    warnings.push('Ignoring builder.sbom: plain docker build (no buildx) cannot attach attestations.');
  }
  const tags = tagsOf(spec, options.tagAsDirty ?? false);
  const build: Word[] = [
    ...words('docker', 'build'),
    // The classic builder keeps the container of a failed step unless told otherwise.
    ...(buildkit ? [] : words('--force-rm')),
    ...tags.flatMap((t) => words('-t', t)),
    ...labelWords(spec),
    ...buildArgWords(spec.builder.args),
    ...secrets.flatMap((name) => words('--secret', `id=${name},env=${name}`)),
    ...words('--file', view.dockerfile),
    ...bare('--target', spec.builder.target),
    ...sshWords(spec.builder.ssh),
    ...(options.noCache ? words('--no-cache') : []),
    w(view.context),
  ];
  const pushes = output === 'registry';
  return {
    kind: 'docker-build',
    tags,
    commands: [
      command(build, { DOCKER_BUILDKIT: buildkit ? '1' : '0' }),
      ...(pushes ? tags.map((t) => command(words('docker', 'push', t))) : []),
    ],
    secretNames: secrets,
    pushes,
    dockerfile: view.dockerfile,
    context: view.context,
    warnings,
  };
}
