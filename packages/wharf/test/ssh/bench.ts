/**
 * Benchmark, run by hand (not a test): how long wharf's SSH layer takes to
 * open connections to N fleet servers in parallel, and what one command
 * costs on an open connection, against OpenSSH's own client measured in the
 * same run as the baseline.
 *
 *   npx tsc -b packages/wharf && node packages/wharf/dist/test/ssh/bench.js [--servers 10] [--keep]
 *
 * Uses fleet `sshtest2` (registry port 5622); --keep leaves it running.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshPool } from '../../src/ssh/pool.js';
import { SshConfig } from '../../src/ssh/ssh-config.js';
import { fleetUp } from '../support/fleet.js';

const args = process.argv.slice(2);
const servers = Number(args[args.indexOf('--servers') + 1] ?? 10) || 10;
const keep = args.includes('--keep');

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fmt(n: number): string {
  return n.toFixed(1);
}

async function main(): Promise<void> {
  const fleet = fleetUp('sshtest2', servers, 5622);
  const hosts = fleet.servers.map((s) => s.address);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ssh-bench-'));
  const makePool = () =>
    new SshPool({
      settings: { keys: [fleet.ssh_key], keysOnly: true, config: false },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [fleet.known_hosts], recordFile: join(dir, 'known_hosts') },
    });

  console.log(
    `fleet sshtest2: ${hosts.length} servers; load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  // Warm up sshd (first connection forks and pages in its binaries).
  const warm = makePool();
  await warm.connect(hosts);
  await warm.close();

  const rounds = 5;
  const sizes = [...new Set([1, 2, 3, Math.min(10, hosts.length), hosts.length])].filter(
    (n) => n <= hosts.length,
  );
  const connectTimes = new Map<number, number[]>();
  for (const n of sizes) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const pool = makePool();
      const start = process.hrtime.bigint();
      await pool.connect(hosts.slice(0, n));
      times.push(ms(start));
      await pool.close();
    }
    connectTimes.set(n, times);
  }

  // Baseline: OpenSSH's client, one full connection + `true` (what a naive tool pays per command).
  const sshArgs = (host: string, extra: string[] = []) => [
    '-i',
    fleet.ssh_key,
    '-o',
    `UserKnownHostsFile=${fleet.known_hosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    ...extra,
    `root@${host}`,
    'true',
  ];
  const opensshConnect: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    spawnSync('ssh', sshArgs(hosts[0]!));
    opensshConnect.push(ms(start));
  }

  // Round trip of one command on an open connection.
  const pool = makePool();
  const cpuConnect = process.cpuUsage();
  await pool.connect(hosts);
  const connectCpu = process.cpuUsage(cpuConnect);
  const cpuExec = process.cpuUsage();
  const execs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const start = process.hrtime.bigint();
    await pool.exec(hosts[0]!, 'true');
    execs.push(ms(start));
  }
  const execCpu = process.cpuUsage(cpuExec);
  // Baseline: OpenSSH with a ControlMaster connection (its multiplexed path).
  const control = join(dir, 'cm');
  spawnSync(
    'ssh',
    sshArgs(hosts[0]!, [
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${control}`,
      '-o',
      'ControlPersist=60',
    ]),
  );
  const muxed: number[] = [];
  for (let i = 0; i < 30; i++) {
    const start = process.hrtime.bigint();
    spawnSync('ssh', sshArgs(hosts[0]!, ['-o', `ControlPath=${control}`]));
    muxed.push(ms(start));
  }
  spawnSync('ssh', ['-o', `ControlPath=${control}`, '-O', 'exit', `root@${hosts[0]}`]);

  // Fan-out: 20 commands on every server at once.
  const fanStart = process.hrtime.bigint();
  await Promise.all(hosts.flatMap((h) => Array.from({ length: 20 }, () => pool.exec(h, 'true'))));
  const fanOut = ms(fanStart);
  const stats = pool.stats();
  await pool.close();

  console.log('\nconnect in parallel (TCP + handshake + auth), median of 5:');
  for (const [n, times] of connectTimes)
    console.log(`  ${String(n).padStart(3)} servers: ${fmt(percentile(times, 50))} ms`);
  const one = percentile(connectTimes.get(1)!, 50);
  const two = percentile(connectTimes.get(2) ?? connectTimes.get(1)!, 50);
  const most = percentile(connectTimes.get(hosts.length)!, 50);
  console.log(
    `  ratio ${hosts.length} servers / 2 servers: ${fmt(most / two)}x;  1 server wharf vs \`ssh host true\` (OpenSSH, new connection): ${fmt(one)} vs ${fmt(percentile(opensshConnect, 50))} ms`,
  );
  console.log(
    `  wharf's own CPU: ${fmt((connectCpu.user + connectCpu.system) / 1000 / hosts.length)} ms per connection (the rest is sshd on the servers)`,
  );
  console.log('\nexec round trip on an open connection (`true`), 100 runs:');
  console.log(
    `  wharf p50 ${fmt(percentile(execs, 50))} ms, p95 ${fmt(percentile(execs, 95))} ms; wharf's own CPU ${fmt((execCpu.user + execCpu.system) / 1000 / 100)} ms per command`,
  );
  console.log(
    `  OpenSSH ControlMaster (incl. starting the ssh client) p50 ${fmt(percentile(muxed, 50))} ms  → wharf is ${fmt(percentile(muxed, 50) / percentile(execs, 50))}x faster`,
  );
  console.log(
    `\n${hosts.length * 20} commands fanned out over ${hosts.length} servers: ${fmt(fanOut)} ms; connections per host: ${[...new Set(Object.values(stats).map((s) => s.connections))].join(',')}`,
  );
  if (!keep) fleet.down();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
