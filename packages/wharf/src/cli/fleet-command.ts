import { Command, InvalidArgumentError } from 'commander';
import { fleetDown, fleetStatus, fleetUp } from '../fleet/fleet.js';
import { DEFAULT_FLEET_NAME, DEFAULT_SERVER_COUNT } from '../fleet/plan.js';
import { makeOutput, table } from './output.js';
import type { GlobalFlags } from './program.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more.');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError('expected a port from 1 to 65535.');
  return n;
}

export function fleetCommand(globals: () => GlobalFlags): Command {
  const fleet = new Command('fleet')
    .description(
      'Throwaway local servers (containers running sshd and their own Docker engine) plus a registry, to deploy to',
    )
    .helpOption('--help', 'Show help for this command');

  fleet
    .command('up')
    .description('Bring up the fleet (or report it when it already runs; --servers grows it)')
    .helpOption('--help', 'Show help for this command')
    .option(
      '--servers <n>',
      `number of servers (default ${DEFAULT_SERVER_COUNT}; never shrinks a running fleet)`,
      positiveInt,
    )
    .option('--name <name>', 'fleet name; prefixes every container, network and volume', DEFAULT_FLEET_NAME)
    .option(
      '--registry-port <port>',
      'loopback port of the fleet registry (default: first free from 5555)',
      port,
    )
    .option(
      '--no-registry-forward',
      "don't forward localhost:PORT on each server to the registry (to test Kamal's local-registry tunnel)",
    )
    .option('--json', 'print one JSON object describing the fleet')
    .action(
      async (opts: {
        servers?: number;
        name: string;
        registryPort?: number;
        registryForward: boolean;
        json?: boolean;
      }) => {
        const out = makeOutput({ ...globals(), json: opts.json });
        const result = await fleetUp({
          name: opts.name,
          servers: opts.servers,
          registryPort: opts.registryPort,
          registryForward: opts.registryForward,
          log: (line) => out.progress(line),
        });
        if (opts.json) return out.result(JSON.stringify(result.fleet, null, 2));
        const f = result.fleet;
        const verb = result.created.length > 0 ? 'is up' : 'was already up';
        out.result(
          [
            `Fleet "${f.name}" ${verb}: ${f.servers.length} server${f.servers.length === 1 ? '' : 's'} (${result.seconds.toFixed(1)} s).`,
            table([
              ['registry', f.registry, `(push here; the same name pulls on every server)`],
              ['ssh key', f.ssh_key, ''],
              ['engine', f.docker_host, ''],
              ...f.servers.map((s) => [
                s.name,
                s.address,
                `ssh -i ${f.ssh_key} -o UserKnownHostsFile=${f.known_hosts} root@${s.address}`,
              ]),
            ]),
          ].join('\n'),
        );
      },
    );

  fleet
    .command('down')
    .description('Remove every container, network and volume of the fleet (and nothing else)')
    .helpOption('--help', 'Show help for this command')
    .option('--name <name>', 'fleet name', DEFAULT_FLEET_NAME)
    .option(
      '--stop-engine',
      "also stop wharf's own Docker engine, if wharf started one and nothing else runs on it",
    )
    .action(async (opts: { name: string; stopEngine?: boolean }) => {
      const out = makeOutput(globals());
      const result = await fleetDown(opts.name, (line) => out.progress(line), Boolean(opts.stopEngine));
      out.result(
        result.removed.length > 0
          ? `Fleet "${opts.name}" is down; removed ${result.removed.join(', ')}.`
          : `Fleet "${opts.name}" was not running; nothing to remove.`,
      );
    });

  fleet
    .command('status')
    .description("Show what runs, and whether each server's sshd and engine answer")
    .helpOption('--help', 'Show help for this command')
    .option('--name <name>', 'fleet name', DEFAULT_FLEET_NAME)
    .option('--json', 'print the status as JSON')
    .action(async (opts: { name: string; json?: boolean }) => {
      const out = makeOutput({ ...globals(), json: opts.json });
      const status = await fleetStatus(opts.name);
      if (opts.json) return out.result(JSON.stringify(status, null, 2));
      if (!status.exists || !status.registry) {
        return out.result(
          `Fleet "${opts.name}" is not up${status.dockerHost ? '' : ' (no Docker engine is running)'}.`,
        );
      }
      const healthy =
        status.registry.answers && status.servers.every((s) => s.sshd && s.engine && s.registry !== false);
      out.result(
        [
          `Fleet "${status.name}" on ${status.dockerHost}: ${healthy ? 'healthy' : 'DEGRADED'}.`,
          table([
            ['NAME', 'ADDRESS', 'CONTAINER', 'SSHD', 'ENGINE', 'REGISTRY'],
            [
              'registry',
              status.registry.address,
              status.registry.container,
              '-',
              '-',
              status.registry.answers ? 'answers' : 'no answer',
            ],
            ...status.servers.map((s) => [
              s.name,
              s.address,
              s.container,
              s.sshd ? 'ok' : 'no',
              s.engine ?? `no${s.error ? ` (${s.error})` : ''}`,
              s.registry === null ? '-' : s.registry ? 'ok' : 'no',
            ]),
          ]),
        ].join('\n'),
      );
      if (!healthy) process.exitCode = 1;
    });

  return fleet;
}
