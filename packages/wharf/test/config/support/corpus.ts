/** Loads the fixture corpus under test/fixtures/config and reduces each case to comparable data. */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatProblem, kamalHash, loadConfig, type Config } from '../../../src/config/index.js';

export const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/config/', import.meta.url));

export interface CaseSpec {
  name: string;
  options: {
    version?: string;
    destination?: string;
    env?: Record<string, string>;
    localArch?: string;
    configFile?: string;
  };
  expect: 'resolved' | 'errors';
}

export interface FixtureCase {
  fixture: string;
  dir: string;
  spec: CaseSpec;
  expectedFile: string;
}

export function listCases(): FixtureCase[] {
  const out: FixtureCase[] = [];
  for (const fixture of readdirSync(FIXTURES).sort()) {
    const dir = join(FIXTURES, fixture);
    const specFile = join(dir, 'cases.json');
    if (!existsSync(specFile)) continue;
    const specs = JSON.parse(readFileSync(specFile, 'utf8')) as CaseSpec[];
    for (const spec of specs) {
      out.push({
        fixture,
        dir,
        spec,
        expectedFile: join(dir, 'expected', `${spec.name}.${spec.expect === 'resolved' ? 'json' : 'txt'}`),
      });
    }
  }
  return out;
}

const SECRET = (name: string) => `<secret ${name}>`;

/** Everything the deploy code reads from a config, as plain data. */
export function summarize(config: Config): unknown {
  const cwd = config.cwd;
  const proxyView = (p: NonNullable<Config['roles'][number]['proxy']>) => ({
    hosts: p.hosts,
    appPort: p.appPort,
    ssl: p.ssl,
    customSslCertificate: p.customSslCertificate,
    certificatePemSecret: p.certificatePemSecret ?? null,
    containerTlsCert: p.containerTlsCert ?? null,
    deployArgs: p.deployCommandArgs('CID'),
    run: p.run
      ? { image: p.run.image, dockerOptionsArgs: p.run.dockerOptionsArgs(), runCommand: p.run.runCommand() }
      : null,
  });
  return {
    kamal: kamalHash(config),
    service: config.service,
    destination: config.destination ?? null,
    image: config.image ?? null,
    latestImage: config.latestImage,
    serviceAndDestination: config.serviceAndDestination,
    primaryRole: config.primaryRoleName,
    appHosts: config.appHosts,
    proxyHosts: config.proxyHosts,
    settings: {
      retainContainers: config.retainContainers,
      readinessDelay: config.readinessDelay,
      deployTimeout: config.deployTimeout,
      drainTimeout: config.drainTimeout,
      stopTimeout: config.stopTimeout ?? null,
      hooksPath: config.hooksPath,
      secretsPath: config.secretsPath,
      assetPath: config.assetPath ?? null,
      errorPagesPath: config.errorPagesPath ?? null,
      runDirectory: config.runDirectory,
      envDirectory: config.envDirectory,
      lockDirectory: config.lockDirectory,
      hooksOutput: {
        'pre-deploy': config.hooksOutputFor('pre-deploy') ?? null,
        'pre-build': config.hooksOutputFor('pre-build') ?? null,
      },
      aliases: config.aliases,
      output: config.output,
      boot: {
        limit: config.boot.limit ?? null,
        wait: config.boot.wait ?? null,
        parallelRoles: config.boot.parallelRoles,
      },
      minimumVersion: config.minimumVersion ?? null,
    },
    registry: {
      server: config.registry.server ?? null,
      local: config.registry.local,
      localPort: config.registry.localPort ?? null,
      username: config.registry.username(SECRET) ?? null,
      password: config.registry.password(SECRET) ?? null,
    },
    ssh: {
      user: config.ssh.user,
      port: config.ssh.port,
      proxy: config.ssh.proxy ?? null,
      keyData: config.ssh.keyData ?? null,
      logLevel: config.ssh.logLevel,
    },
    sshkit: {
      maxConcurrentStarts: config.sshkit.maxConcurrentStarts,
      poolIdleTimeout: config.sshkit.poolIdleTimeout,
      dnsRetries: config.sshkit.dnsRetries,
    },
    builder: {
      arches: config.builder.arches,
      localArches: config.builder.localArches,
      remoteArches: config.builder.remoteArches,
      remote: config.builder.remote ?? null,
      driver: config.builder.driver,
      dockerfile: config.builder.dockerfile,
      target: config.builder.target ?? null,
      context: config.builder.context,
      args: config.builder.args,
      secrets: config.builder.secrets,
      cacheFrom: config.builder.cacheFrom ?? null,
      cacheTo: config.builder.cacheTo ?? null,
      pack: config.builder.pack
        ? { builder: config.builder.packBuilder, buildpacks: config.builder.packBuildpacks }
        : null,
      ssh: config.builder.ssh ?? null,
      provenance: config.builder.provenance ?? null,
      sbom: config.builder.sbom ?? null,
    },
    roles: config.roles.map((r) => ({
      name: r.name,
      primary: r.primary,
      hosts: r.hosts.map((h) => ({
        host: h,
        tags: r.tags(h),
        envArgs: r.envArgs(h),
        secrets: r.env(h).secrets,
      })),
      cmd: r.cmd ?? null,
      containerName: r.containerName(),
      labelArgs: r.labelArgs(),
      optionArgs: r.optionArgs(),
      restartPolicy: r.restartPolicy,
      loggingArgs: r.loggingArgs(),
      stopArgs: r.stopArgs(),
      assetVolumeArgs: r.assetVolumeArgs() ?? null,
      proxy: r.proxy ? proxyView(r.proxy) : null,
    })),
    accessories: config.accessories.map((a) => ({
      name: a.name,
      serviceName: a.serviceName,
      image: a.image,
      hosts: a.hosts,
      publishArgs: a.publishArgs(),
      labelArgs: a.labelArgs(),
      envArgs: a.envArgs(),
      secrets: a.env.secrets,
      volumeArgs: a.volumeArgs(),
      files: a.files.map((f) => ({ ...f, local: relative(cwd, f.local) })),
      directories: a.directories,
      optionArgs: a.optionArgs(),
      restartPolicy: a.restartPolicy,
      cmd: a.cmd ?? null,
      network: a.network,
      proxy: a.proxy ? proxyView(a.proxy) : null,
      registry: a.registry
        ? { server: a.registry.server ?? null, password: a.registry.password(SECRET) ?? null }
        : null,
    })),
    warnings: config.warnings.map(formatProblem),
  };
}

/** Runs a case: the summary (resolved) or the error text (errors). */
export async function runCase(
  c: FixtureCase,
): Promise<{ kind: 'resolved'; value: unknown } | { kind: 'errors'; text: string }> {
  try {
    const config = await loadConfig({
      cwd: c.dir,
      localArch: c.spec.options.localArch ?? 'amd64',
      version: c.spec.options.version,
      destination: c.spec.options.destination,
      configFile: c.spec.options.configFile,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(c.spec.options.env ?? {}) },
    });
    return { kind: 'resolved', value: JSON.parse(JSON.stringify(summarize(config))) };
  } catch (error) {
    if (error instanceof ConfigError) return { kind: 'errors', text: `${error.message}\n` };
    throw error;
  }
}
