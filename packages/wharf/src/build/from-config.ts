/**
 * From the loaded deploy config to a BuildSpec. Takes plain values (what
 * Config exposes: service, repository, registry server, version, destination
 * and the raw `builder` hash) so the build module does not depend on the
 * config classes.
 */
import { UserError } from '../util/errors.js';
import type { BuildCapabilities, BuilderSettings, BuildSpec } from './spec.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

function str(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new UserError(`builder.${key} must be a string in the deploy config.`);
}

function strOrBool(key: string, value: unknown): string | boolean | undefined {
  if (typeof value === 'boolean') return value;
  return str(key, value);
}

/** The raw `builder` hash of deploy.yml as BuilderSettings (types checked, one sentence per problem). */
export function builderSettingsFromRaw(raw: unknown): BuilderSettings {
  if (raw === undefined || raw === null) return {};
  if (!isHash(raw)) throw new UserError('builder must be a mapping in the deploy config.');
  const settings: BuilderSettings = {};
  if (raw.arch !== undefined && raw.arch !== null) {
    const list = Array.isArray(raw.arch) ? raw.arch : [raw.arch];
    settings.arch = list.map((a) => str('arch', a) ?? '');
  }
  const remote = str('remote', raw.remote);
  if (remote !== undefined) settings.remote = remote;
  if (raw.local !== undefined && raw.local !== null) {
    if (typeof raw.local !== 'boolean')
      throw new UserError('builder.local must be true or false in the deploy config.');
    settings.local = raw.local;
  }
  if (raw.cache !== undefined && raw.cache !== null && raw.cache !== false) {
    if (!isHash(raw.cache))
      throw new UserError('builder.cache must be a mapping with a type (gha or registry).');
    const type = str('cache.type', raw.cache.type);
    const options = str('cache.options', raw.cache.options);
    const image = str('cache.image', raw.cache.image);
    settings.cache = {
      ...(type !== undefined ? { type } : {}),
      ...(options !== undefined ? { options } : {}),
      ...(image !== undefined ? { image } : {}),
    };
  }
  for (const key of ['context', 'dockerfile', 'target', 'ssh', 'driver'] as const) {
    const value = str(key, raw[key]);
    if (value !== undefined) settings[key] = value;
  }
  if (raw.args !== undefined && raw.args !== null) {
    if (!isHash(raw.args))
      throw new UserError('builder.args must be a mapping of build argument names to values.');
    const args: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(raw.args)) {
      args[k] =
        typeof v === 'boolean' || typeof v === 'number' ? v : v === null || v === undefined ? '' : String(v);
    }
    settings.args = args;
  }
  if (raw.secrets !== undefined && raw.secrets !== null) {
    if (!Array.isArray(raw.secrets)) throw new UserError('builder.secrets must be a list of secret names.');
    settings.secrets = raw.secrets.map((s) => str('secrets', s) ?? '');
  }
  const provenance = strOrBool('provenance', raw.provenance);
  if (provenance !== undefined) settings.provenance = provenance;
  const sbom = strOrBool('sbom', raw.sbom);
  if (sbom !== undefined) settings.sbom = sbom;
  if (raw.pack !== undefined && raw.pack !== null) settings.pack = raw.pack;
  return settings;
}

export interface BuildConfigInput {
  service: string;
  /** `[<registry.server>/]<image>` (Config#repository). */
  repository: string;
  registryServer?: string | undefined;
  version: string;
  destination?: string | undefined;
  /** `config.raw.builder`. */
  builder: unknown;
}

export function buildSpecFromConfig(input: BuildConfigInput, capabilities: BuildCapabilities): BuildSpec {
  return {
    service: input.service,
    repository: input.repository,
    ...(input.registryServer !== undefined ? { registryServer: input.registryServer } : {}),
    version: input.version,
    ...(input.destination ? { destination: input.destination } : {}),
    builder: builderSettingsFromRaw(input.builder),
    capabilities,
  };
}

/** The parts of the loaded Config (src/config) a build reads; structural, so tests can pass plain objects. */
export interface BuildConfigLike {
  service: string;
  repository: string;
  version: string;
  destination?: string | undefined;
  registry: {
    server: string | undefined;
    username(lookup: (name: string) => string): string | undefined;
    password(lookup: (name: string) => string): string | undefined;
  };
  builder: { raw: unknown };
}

export interface BuildInputs {
  spec: BuildSpec;
  registry: { server?: string; username?: string; password?: string };
  /** Values of builder.secrets, looked up through `lookup`. */
  secrets: Record<string, string>;
}

/**
 * Everything buildAndPush and pullOnHosts need from a loaded config:
 * the spec, the registry credentials and the build secrets (looked up with
 * the secrets module's lookup, which throws its own one-sentence error for a
 * missing secret).
 */
export function buildInputsFromConfig(
  config: BuildConfigLike,
  lookup: (name: string) => string,
  capabilities: BuildCapabilities,
): BuildInputs {
  const spec = buildSpecFromConfig(
    {
      service: config.service,
      repository: config.repository,
      registryServer: config.registry.server,
      version: config.version,
      destination: config.destination,
      builder: config.builder.raw,
    },
    capabilities,
  );
  const local = /^localhost(:|$)/.test(config.registry.server ?? '');
  const username = local ? undefined : config.registry.username(lookup);
  const password = local ? undefined : config.registry.password(lookup);
  const secrets: Record<string, string> = {};
  for (const name of spec.builder.secrets ?? []) secrets[name] = lookup(name);
  return {
    spec,
    registry: {
      ...(config.registry.server !== undefined ? { server: config.registry.server } : {}),
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
    },
    secrets,
  };
}
