import { Command } from 'commander';
import {
  formatProblem,
  kamalConfigYaml,
  kamalHash,
  loadConfig,
  sectionDocs,
  SECTION_NAMES,
  type Config,
} from '../config/index.js';
import { UserError } from '../util/errors.js';
import type { GlobalFlags } from './program.js';

/** Loads the config the way every command does (-c, -d, --version), printing warnings to stderr. */
export async function loadConfigFromFlags(flags: GlobalFlags): Promise<Config> {
  const config = await loadConfig({
    configFile: flags.configFile,
    destination: flags.destination,
    version: flags.version,
    strict: flags.strict,
  });
  if (!flags.quiet)
    for (const w of config.warnings) process.stderr.write(`wharf: warning: ${formatProblem(w)}\n`);
  return config;
}

/** A fuller resolved view than Kamal's, for `wharf config --json`. */
function resolvedView(config: Config): Record<string, unknown> {
  return {
    ...kamalHash(config),
    service: config.service,
    destination: config.destination ?? null,
    image: config.image,
    latest_image: config.latestImage,
    primary_role: config.primaryRoleName,
    roles_detail: config.roles.map((r) => ({
      name: r.name,
      hosts: r.hosts.map((h) => ({ host: h, tags: r.tags(h) })),
      primary: r.primary,
      cmd: r.cmd ?? null,
      proxy: r.proxy ? { hosts: r.proxy.hosts, app_port: r.proxy.appPort, ssl: r.proxy.ssl } : false,
      container_prefix: r.containerPrefix(),
      env_file: r.secretsPath,
    })),
    accessories_detail: config.accessories.map((a) => ({
      name: a.name,
      service: a.serviceName,
      image: a.image,
      hosts: a.hosts,
      env_file: a.secretsPath,
    })),
    warnings: config.warnings.map(formatProblem),
  };
}

export function configCommand(globals: () => GlobalFlags): Command {
  return new Command('config')
    .description('Show the resolved configuration (as `kamal config` prints it; secrets redacted)')
    .helpOption('--help', 'Show help for this command')
    .option('--json', 'print a fuller resolved view as JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfigFromFlags(globals());
      process.stdout.write(
        opts.json ? `${JSON.stringify(resolvedView(config), null, 2)}\n` : kamalConfigYaml(config),
      );
    });
}

export function docsCommand(): Command {
  return new Command('docs')
    .description('Show the configuration reference, for all of deploy.yml or one section')
    .helpOption('--help', 'Show help for this command')
    .argument('[section]', `one of ${SECTION_NAMES.join(', ')}`)
    .action((section?: string) => {
      const text = sectionDocs(section ?? 'configuration');
      if (text === undefined)
        throw new UserError(
          `No documentation found for "${section}"; sections are ${SECTION_NAMES.join(', ')}.`,
        );
      process.stdout.write(text);
    });
}
