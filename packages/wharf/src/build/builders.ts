/**
 * The buildx builder's lifecycle as data: Kamal's create / remove / inspect /
 * details commands for the local, remote, hybrid and cloud builders (and the
 * plain `docker build` wharf uses without buildx). Kamal joins these with
 * shell operators and pipes into grep; here each is a Script: steps joined by
 * `&&` or `;`, a step optionally checking its output, plus Kamal's rendering.
 */
import { builderView, type BuilderKind, type BuildSpec } from './spec.js';
import { command, kamalText, w, words, type Command } from './words.js';

export interface ScriptStep {
  command: Command;
  /** The step fails unless its stdout matches (Kamal's `| grep -q …`). */
  expect?: RegExp;
  /** Kamal's text for the expectation, appended to the rendering (`| grep -q …`). */
  expectText?: string;
}

export interface Script {
  steps: ScriptStep[];
  /** `&&`: stop at the first failure; `;`: run every step, the last one decides. */
  join: '&&' | ';';
  /** When the script fails, this is its message (Kamal's `|| (echo no compatible builder && exit 1)`). */
  failureMessage?: string;
}

function script(join: '&&' | ';', ...steps: (Command | ScriptStep)[]): Script {
  return { join, steps: steps.map((s) => ('words' in s ? { command: s } : s)) };
}

/** Kamal's rendering of a script, for output and tests. */
export function scriptText(s: Script): string {
  const text = s.steps
    .map((step) => kamalText(step.command) + (step.expectText ? ` | ${step.expectText}` : ''))
    .join(` ${s.join} `);
  return s.failureMessage ? `${text} || (echo ${s.failureMessage} && exit 1)` : text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Which builder `kamal build details` names. */
export function builderKind(spec: BuildSpec): BuilderKind {
  return spec.capabilities.buildx ? builderView(spec).buildxKind : 'docker-build';
}

function driverOptions(spec: BuildSpec) {
  return builderView(spec).localRegistry ? words('--driver-opt', 'network=host') : [];
}

function remoteContextCreate(spec: BuildSpec): Command {
  const view = builderView(spec);
  return command([
    ...words('docker', 'context', 'create', view.remoteContextName, '--description'),
    { value: `${view.builderName} host`, text: `'${view.builderName} host'` },
    w('--docker'),
    { value: `host=${spec.builder.remote}`, text: `'host=${spec.builder.remote}'` },
  ]);
}

/** `kamal build create`; undefined when there is nothing to create (docker driver, no buildx). */
export function createBuilderScript(spec: BuildSpec): Script | undefined {
  const view = builderView(spec);
  if (!spec.capabilities.buildx) return undefined;
  const name = view.builderName;
  const platform = (arches: string[]) =>
    arches.length > 0 ? words('--platform', arches.map((a) => `linux/${a}`).join(',')) : [];
  switch (view.buildxKind) {
    case 'local':
      if (view.dockerDriver) return undefined;
      return script(
        '&&',
        command([
          ...words('docker', 'buildx', 'create', '--name', name, `--driver=${view.driver}`),
          ...driverOptions(spec),
        ]),
      );
    case 'remote':
      return script(
        ';',
        remoteContextCreate(spec),
        command([
          ...words('docker', 'buildx', 'create', '--name', name),
          ...driverOptions(spec),
          w(view.remoteContextName),
        ]),
      );
    case 'hybrid':
      return script(
        '&&',
        command([
          ...words('docker', 'buildx', 'create'),
          ...platform(view.localArches),
          ...words('--name', name, `--driver=${view.driver}`),
          ...driverOptions(spec),
        ]),
        remoteContextCreate(spec),
        command([
          ...words('docker', 'buildx', 'create'),
          ...platform(view.remoteArches),
          ...words('--append', '--name', name),
          ...driverOptions(spec),
          w(view.remoteContextName),
        ]),
      );
    case 'cloud': {
      // Kamal passes "cloud org/builder" as one shell word that the shell splits in two.
      const [driver, ...endpoint] = view.driver.split(/\s+/);
      return script('&&', command(words('docker', 'buildx', 'create', '--driver', driver!, ...endpoint)));
    }
  }
}

/** `kamal build remove`; undefined when there is nothing to remove. */
export function removeBuilderScript(spec: BuildSpec): Script | undefined {
  const view = builderView(spec);
  if (!spec.capabilities.buildx) return undefined;
  switch (view.buildxKind) {
    case 'local':
      return view.dockerDriver
        ? undefined
        : script('&&', command(words('docker', 'buildx', 'rm', view.builderName)));
    case 'cloud':
      return script('&&', command(words('docker', 'buildx', 'rm', view.builderName)));
    case 'remote':
    case 'hybrid':
      return script(
        ';',
        command(words('docker', 'context', 'rm', view.remoteContextName)),
        command(words('docker', 'buildx', 'rm', view.builderName)),
      );
  }
}

/** Kamal's builder check before a build; undefined when no builder is needed. */
export function inspectBuilderScript(spec: BuildSpec): Script | undefined {
  const view = builderView(spec);
  if (!spec.capabilities.buildx) return undefined;
  switch (view.buildxKind) {
    case 'local':
    case 'cloud':
      return view.dockerDriver
        ? undefined
        : script('&&', command(words('docker', 'buildx', 'inspect', view.builderName)));
    case 'remote':
    case 'hybrid': {
      const ctx = view.remoteContextName;
      const remote = spec.builder.remote ?? '';
      return {
        join: '&&',
        steps: [
          {
            command: command(words('docker', 'buildx', 'inspect', view.builderName)),
            expect: new RegExp(`Endpoint:.*${escapeRegExp(ctx)}`),
            expectText: `grep -q Endpoint:.*${ctx}`,
          },
          {
            command: command([
              ...words('docker', 'context', 'inspect', ctx, '--format'),
              { value: '{{.Endpoints.docker.Host}}', text: "'{{.Endpoints.docker.Host}}'" },
            ]),
            expect: new RegExp(`^${escapeRegExp(remote)}$`, 'm'),
            expectText: `grep -xq ${remote}`,
          },
        ],
        failureMessage: 'no compatible builder',
      };
    }
  }
}

/** `kamal build details`: contexts and builders (remote builders join with `;`). */
export function detailsScript(spec: BuildSpec): Script {
  if (!spec.capabilities.buildx) return script('&&', command(words('docker', 'context', 'ls')));
  const kind = builderView(spec).buildxKind;
  return script(
    kind === 'remote' || kind === 'hybrid' ? ';' : '&&',
    command(words('docker', 'context', 'ls')),
    command(words('docker', 'buildx', 'ls')),
  );
}

/** Kamal recreates the builder when the inspect fails with one of these. */
export const MISSING_BUILDER = /(context not found|no builder|no compatible builder|does not exist)/;
/** …and tolerates a failed remove only with one of these. */
export const MISSING_ON_REMOVE = /(context not found|no builder|does not exist)/;
