// Differential test against Kamal itself: for a corpus of configs, every
// command class of Kamal (lib/kamal/commands, run by kamal-oracle.rb under the
// system Ruby) and wharf's commands must render byte-identical text, except
// the documented deliberate differences. Needs `ruby` with activesupport and
// zeitwerk, and Kamal's lib/ directory: WHARF_KAMAL_LIB, else a git mirror of
// basecamp/kamal at WHARF_KAMAL_MIRROR (default /work/.mirror/basecamp+kamal/repo).
// Skipped, saying why, when those are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config/index.js';
import {
  AccessoryCommands,
  AppCommands,
  Auditor,
  HookCommands,
  LockCommands,
  ProxyCommands,
  PruneCommands,
  RegistryCommands,
  ServerCommands,
  commandLine,
  dockerCommands,
  type Command,
} from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const ORACLE = fileURLToPath(new URL('../../../test/commands/kamal-oracle.rb', import.meta.url));
const AT = new Date('2026-11-26T23:04:16Z');
const stamp = { performer: 'dev@example.com', at: AT };

/** Kamal's lib directory, or why there is none. */
function kamalLib(): { lib?: string; fixtures?: string; why?: string } {
  if (process.env.WHARF_KAMAL_LIB) {
    const lib = process.env.WHARF_KAMAL_LIB;
    const fixtures = join(lib, '..', 'test', 'fixtures');
    return existsSync(lib)
      ? { lib, ...(existsSync(fixtures) ? { fixtures } : {}) }
      : { why: `WHARF_KAMAL_LIB=${lib} does not exist` };
  }
  const mirror = process.env.WHARF_KAMAL_MIRROR ?? '/work/.mirror/basecamp+kamal/repo';
  if (!existsSync(mirror)) return { why: `no Kamal source (set WHARF_KAMAL_LIB to Kamal's lib/ directory)` };
  const dir = mkdtempSync(join(tmpdir(), 'wharf-kamal-src-'));
  const archive = spawnSync(
    'sh',
    ['-c', `git --git-dir="${mirror}" archive HEAD lib test/fixtures | tar -x -C "${dir}"`],
    {
      encoding: 'utf8',
    },
  );
  return archive.status === 0
    ? { lib: join(dir, 'lib'), fixtures: join(dir, 'test', 'fixtures') }
    : { why: `could not extract Kamal's lib from ${mirror}: ${archive.stderr}` };
}

function stubs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-kamal-stubs-'));
  mkdirSync(join(dir, 'net/ssh/proxy'), { recursive: true });
  const proxy = `module Net; module SSH; module Proxy
  class Jump; attr_reader :jump_proxies; def initialize(p); @jump_proxies = p; end; end
  class Command; attr_reader :command_line_template; def initialize(c); @command_line_template = c; end; end
end; end; end
`;
  writeFileSync(join(dir, 'net/ssh/proxy/jump.rb'), proxy);
  writeFileSync(join(dir, 'net/ssh/proxy/command.rb'), proxy);
  writeFileSync(
    join(dir, 'dotenv.rb'),
    'module Dotenv\n  def self.parse(*files, overwrite: false) = {}\n  module Substitutions; class Command; end; end\n  class Parser; def self.substitutions = (@s ||= [Substitutions::Command]); end\nend\n',
  );
  return dir;
}

interface Call {
  target: string;
  targs?: Record<string, unknown>;
  method: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  ours: () => Command | Record<string, string>;
  /** Kamal's doubled spaces in accessory logs (a deliberate difference). */
  collapseSpaces?: boolean;
}

interface Case {
  name: string;
  raw: Raw;
  destination?: string;
  version?: string;
}

const REG = { username: 'dhh', password: 'secret' };
const CASES: Case[] = [
  {
    name: 'simple',
    raw: {
      service: 'app',
      image: 'dhh/app',
      registry: REG,
      servers: ['1.1.1.1', '1.1.1.2'],
      builder: { arch: 'amd64' },
    },
  },
  {
    name: 'roles, destination, options, labels, logging, timeouts',
    destination: 'staging',
    version: 'abcdef0123456789',
    raw: {
      service: 'shop',
      image: 'acme/shop',
      registry: { server: 'ghcr.io', ...REG },
      servers: {
        web: {
          hosts: ['10.0.0.1'],
          labels: { 'traefik.enable': 'false' },
          stop_timeout: 12,
          options: { 'add-host': 'db:10.0.0.9', memory: '512m' },
        },
        jobs: {
          hosts: ['10.0.0.3'],
          cmd: 'bin/jobs --queue "default"',
          options: { restart: 'on-failure:3', 'cap-add': true, ulimit: ['nofile=1024:1024', 'nproc=512'] },
          logging: { options: { 'max-file': 5 } },
        },
      },
      labels: { team: 'ops crew' },
      volumes: ['/data/uploads:/rails/uploads', 'cache:/cache'],
      env: {
        clear: { PORT: 3000, QUOTE: 'say "hi" `now` $HOME ${HOSTNAME}', NAME: 'Zoë' },
        secret: ['RAILS_MASTER_KEY', 'DB:DATABASE_URL'],
      },
      logging: { driver: 'json-file', options: { 'max-size': '20m' } },
      drain_timeout: 15,
      deploy_timeout: 45,
      retain_containers: 3,
      builder: { arch: 'amd64' },
      proxy: {
        hosts: ['shop.example.com', 'www.shop.example.com'],
        ssl: true,
        app_port: 3000,
        healthcheck: { path: '/health', interval: 2, timeout: 3 },
        response_timeout: 20,
        buffering: { requests: false, memory: 2000000, max_request_body: 40000000 },
        path_prefix: '/api,/admin',
        strip_path_prefix: false,
        forward_headers: true,
        logging: { request_headers: ['X-Request-Id'], response_headers: ['X-Runtime'] },
      },
      asset_path: '/rails/public/assets:ro',
      error_pages_path: 'public/errors',
      ssh: {
        user: 'deploy',
        port: 2222,
        proxy: 'bastion.example.com',
        keys: ['~/.ssh/a', '~/.ssh/b'],
        keys_only: true,
        config: ['~/.ssh/one', '~/.ssh/two'],
      },
      hooks_path: 'bin/hooks',
    },
  },
  {
    name: 'env tags, proxy run, accessories, custom certs',
    raw: {
      service: 'app',
      image: 'app',
      registry: { server: 'localhost:5555' },
      servers: {
        web: {
          hosts: [{ '1.1.1.1': ['eu', 'big'] }, '1.1.1.2'],
          proxy: { ssl: { certificate_pem: 'CERT', private_key_pem: 'KEY' }, host: 'app.example.com' },
        },
        workers: { hosts: [{ '1.1.1.3': 'eu' }], proxy: false, env: { clear: { QUEUES: '*' } } },
      },
      env: {
        clear: { A: '1' },
        tags: { eu: { REGION: 'eu' }, big: { clear: { SIZE: 'xl' }, secret: ['BIG_KEY'] } },
      },
      builder: { arch: 'arm64' },
      proxy: {
        run: {
          http_port: 8080,
          https_port: 8443,
          bind_ips: ['0.0.0.0', '::1'],
          log_max_size: '5m',
          metrics_port: 9100,
          debug: true,
          version: 'v0.9.4',
          options: { memory: '256m', 'cap-drop': 'ALL' },
        },
      },
      ssh: { proxy_command: 'ssh -W %h:%p jump@example.com', config: false },
      accessories: {
        db: {
          image: 'postgres:16',
          host: '1.1.1.3',
          port: '127.0.0.1:5432:5432',
          env: { clear: { POSTGRES_USER: 'app' }, secret: ['POSTGRES_PASSWORD'] },
          files: ['config/init.sql:/docker-entrypoint-initdb.d/init.sql:ro'],
          directories: ['data:/var/lib/postgresql/data', '/backups:/backups:z'],
          options: { restart: 'always', 'shm-size': '1g' },
          labels: { backup: 'nightly' },
          cmd: 'postgres -c max_connections=200',
        },
        cache: {
          service: 'shared-redis',
          image: 'redis:7',
          roles: ['web'],
          network: 'custom',
          volumes: ['redis:/data'],
          registry: { server: 'mirror.example.com', username: 'u', password: 'p' },
        },
        search: {
          image: 'meili:1',
          host: '1.1.1.1', // Kamal's tag placement sees only roles written as bare host lists; wharf's config sees every role
          port: 7700,
          proxy: { host: 'search.example.com', app_port: 7700, healthcheck: { path: '/health' } },
        },
      },
    },
  },
];

function callsFor(config: Config): Call[] {
  const calls: Call[] = [];
  const cmd = ['bin/rails', 'runner', '"puts 1"'];
  for (const role of config.roles) {
    for (const host of role.hosts.slice(0, 2)) {
      const a = new AppCommands(config, { role: role.name, host });
      const app = (
        method: string,
        ours: Call['ours'],
        args: unknown[] = [],
        kwargs: Record<string, unknown> = {},
      ) => calls.push({ target: 'app', targs: { role: role.name, host }, method, args, kwargs, ours });
      app('run', () => a.run());
      app('run', () => a.run({ hostname: 'h-0123' }), [], { hostname: 'h-0123' });
      app('start', () => a.start());
      app('stop', () => a.stop());
      app('stop', () => a.stop({ version: 'old' }), [], { version: 'old' });
      app('info', () => a.info());
      app('status', () => a.status('v9'), [], { version: 'v9' });
      app('current_running_container_id', () => a.currentRunningContainerId());
      app('current_running_version', () => a.currentRunningVersion());
      app('list_versions', () => a.listVersions());
      app(
        'list_versions',
        () => a.listVersions(['--latest'], { statuses: ['running', 'restarting'] }),
        ['--latest'],
        { statuses: ['running', 'restarting'] },
      );
      app('container_id_for_version', () => a.containerIdForVersion('v9'), ['v9']);
      app('container_id_for_version', () => a.containerIdForVersion('v9', { onlyRunning: true }), ['v9'], {
        only_running: true,
      });
      app('ensure_env_directory', () => a.ensureEnvDirectory());
      app('list_containers', () => a.listContainers());
      app('list_container_names', () => a.listContainerNames());
      app('remove_container', () => a.removeContainer('v9'), [], { version: 'v9' });
      app('rename_container', () => a.renameContainer('v9', 'v9_replaced_ab'), [], {
        version: 'v9',
        new_version: 'v9_replaced_ab',
      });
      app('remove_containers', () => a.removeContainers());
      app('container_health_log', () => a.containerHealthLog('v9'), [], { version: 'v9' });
      app(
        'execute_in_existing_container',
        () => a.executeInExistingContainer(cmd, { env: { FOO: 'a b', BAR: '$x' } }),
        cmd,
        { env: { FOO: 'a b', BAR: '$x' } },
      );
      app('execute_in_new_container', () => a.executeInNewContainer(cmd, { env: { FOO: 'a b' } }), cmd, {
        env: { FOO: 'a b' },
      });
      app('execute_in_new_container', () => a.executeInNewContainer(cmd, { env: {}, detach: true }), cmd, {
        env: {},
        detach: true,
      });
      app(
        'execute_in_existing_container_over_ssh',
        () => a.executeInExistingContainerOverSsh(cmd, { env: {}, tty: false }),
        cmd,
        { env: {} },
      );
      app(
        'execute_in_new_container_over_ssh',
        () => a.executeInNewContainerOverSsh(cmd, { env: { X: '1' }, tty: false }),
        cmd,
        { env: { X: '1' } },
      );
      app('list_images', () => a.listImages());
      app('remove_images', () => a.removeImages());
      app('tag_latest_image', () => a.tagLatestImage());
      app('logs', () => a.logs());
      app(
        'logs',
        () =>
          a.logs({
            containerId: 'C1',
            timestamps: false,
            since: '2h',
            lines: 20,
            grep: 'GET /',
            grepOptions: '-i -C 3',
          }),
        [],
        {
          container_id: 'C1',
          timestamps: false,
          since: '2h',
          lines: 20,
          grep: 'GET /',
          grep_options: '-i -C 3',
        },
      );
      app('follow_logs', () => a.followLogs({ host, lines: 10, grep: 'err' }), [], {
        host,
        lines: 10,
        grep: 'err',
      });
      app('follow_logs', () => a.followLogs({ host, containerId: 'C1', timestamps: false }), [], {
        host,
        container_id: 'C1',
        timestamps: false,
      });
      app('remove_proxy_app_directory', () => a.removeProxyAppDirectory());
      app('create_ssl_directory', () => a.createSslDirectory());
      app('create_error_pages_directory', () => a.createErrorPagesDirectory());
      app('clean_up_error_pages', () => a.cleanUpErrorPages());
      if (role.runningProxy) {
        app('deploy', () => a.deploy('c0ffee'), [], { target: 'c0ffee' });
        app('remove', () => a.remove());
        app('live', () => a.live());
        app('maintenance', () => a.maintenance());
        app('maintenance', () => a.maintenance({ drainTimeout: 7, message: 'Back "soon" at 5' }), [], {
          drain_timeout: 7,
          message: 'Back "soon" at 5',
        });
      }
      if (role.assetPath) app('extract_assets', () => a.extractAssets());
      if (role.assets) {
        app('sync_asset_volumes', () => a.syncAssetVolumes());
        app('sync_asset_volumes', () => a.syncAssetVolumes({ oldVersion: 'v8' }), [], { old_version: 'v8' });
        app('clean_up_assets', () => a.cleanUpAssets());
      }
    }
  }
  for (const host of config.allHosts.slice(0, 3)) {
    const p = new ProxyCommands(config, host);
    const proxy = (method: string, ours: Call['ours'], kwargs: Record<string, unknown> = {}) =>
      calls.push({ target: 'proxy', targs: { host }, method, kwargs, ours });
    proxy('run', () => p.run());
    proxy('start', () => p.start());
    proxy('stop', () => p.stop());
    proxy('start_or_run', () => p.startOrRun());
    proxy('info', () => p.info());
    proxy('version', () => p.version());
    proxy('logs', () => p.logs());
    proxy('logs', () => p.logs({ since: '1h', lines: 5, timestamps: false, grep: 'x', grepOptions: '-v' }), {
      since: '1h',
      lines: 5,
      timestamps: false,
      grep: 'x',
      grep_options: '-v',
    });
    proxy('follow_logs', () => p.followLogs({ grep: 'y' }), { host, grep: 'y' });
    proxy('remove_container', () => p.removeContainer());
    proxy('remove_image', () => p.removeImage());
    proxy('cleanup_traefik', () => p.cleanupTraefik());
    proxy('ensure_proxy_directory', () => p.ensureProxyDirectory());
    proxy('remove_proxy_directory', () => p.removeProxyDirectory());
    proxy('ensure_apps_config_directory', () => p.ensureAppsConfigDirectory());
    proxy('boot_config', () => p.bootConfig());
    for (const m of [
      'read_boot_options',
      'read_image',
      'read_image_version',
      'read_run_command',
      'reset_boot_options',
      'reset_image',
      'reset_image_version',
      'reset_run_command',
    ] as const) {
      const ts = m.replace(/_([a-z])/g, (_x, c: string) => c.toUpperCase()) as 'readBootOptions';
      proxy(m, () => p[ts]());
    }
  }
  for (const acc of config.accessories) {
    const a = new AccessoryCommands(config, acc.name);
    const host = acc.hosts[0]!;
    const accessory = (
      method: string,
      ours: Call['ours'],
      args: unknown[] = [],
      kwargs: Record<string, unknown> = {},
      collapseSpaces = false,
    ) =>
      calls.push({
        target: 'accessory',
        targs: { name: acc.name },
        method,
        args,
        kwargs,
        ours,
        collapseSpaces,
      });
    accessory('run', () => a.run());
    accessory('run', () => a.run(host), [], { host });
    accessory('start', () => a.start());
    accessory('stop', () => a.stop());
    accessory('info', () => a.info());
    accessory('info', () => a.info({ all: true, quiet: true }), [], { all: true, quiet: true });
    accessory('logs', () => a.logs());
    accessory(
      'logs',
      () => a.logs({ since: '5m', lines: 100, grep: 'thing', grepOptions: '-C 2', timestamps: false }),
      [],
      { since: '5m', lines: 100, grep: 'thing', grep_options: '-C 2', timestamps: false },
      true,
    );
    accessory('follow_logs', () => a.followLogs({ grep: 'z', grepOptions: '-i' }), [], {
      grep: 'z',
      grep_options: '-i',
    });
    accessory(
      'execute_in_existing_container',
      () => a.executeInExistingContainer(['psql', '-c', '"select 1"']),
      ['psql', '-c', '"select 1"'],
    );
    accessory('execute_in_new_container', () => a.executeInNewContainer(['sh']), ['sh']);
    accessory(
      'execute_in_existing_container_over_ssh',
      () => a.executeInExistingContainerOverSsh(['sh'], { tty: false }),
      ['sh'],
    );
    accessory(
      'execute_in_new_container_over_ssh',
      () => a.executeInNewContainerOverSsh(['sh'], { tty: false }),
      ['sh'],
    );
    accessory('pull_image', () => a.pullImage());
    accessory('remove_service_directory', () => a.removeServiceDirectory());
    accessory('remove_container', () => a.removeContainer());
    accessory('remove_image', () => a.removeImage());
    accessory('ensure_env_directory', () => a.ensureEnvDirectory());
    accessory('container_id_for', () => a.containerId({ onlyRunning: true }), [], {
      container_name: acc.serviceName,
      only_running: true,
    });
    for (const f of acc.files)
      accessory('make_directory_for', () => ['mkdir', '-p', f.hostPath.replace(/\/[^/]*$/, '')], [
        f.hostPath,
      ]);
    if (acc.runningProxy) {
      accessory('deploy', () => a.deploy('beef'), [], { target: 'beef' });
      accessory('remove', () => a.remove());
    }
  }
  const lock = new LockCommands(config);
  calls.push({ target: 'lock', method: 'status', ours: () => lock.status() });
  calls.push({ target: 'lock', method: 'release', ours: () => lock.release() });
  // Kamal's Lock#ensure_locks_directory refers to an undefined locks_dir (dead code there); ours is `mkdir -p .kamal`.
  calls.push({
    target: 'lock',
    method: 'acquire',
    args: ['Deploy "now" ünïcode', 'v1'],
    ours: () => lock.acquire({ message: 'Deploy "now" ünïcode', version: 'v1', lockedBy: 'Dev', at: AT }),
  });
  const auditor = new Auditor(config, stamp, { role: 'web' });
  calls.push({
    target: 'auditor',
    targs: { details: { role: 'web' } },
    method: 'record',
    args: ["Executed cmd 'echo \"$HOME\" `id`' on Zoë's box"],
    kwargs: { detail: 'x' },
    ours: () => auditor.record("Executed cmd 'echo \"$HOME\" `id`' on Zoë's box", { detail: 'x' }),
  });
  calls.push({ target: 'auditor', method: 'reveal', ours: () => auditor.reveal() });
  const prune = new PruneCommands(config);
  calls.push({ target: 'prune', method: 'dangling_images', ours: () => prune.danglingImages() });
  calls.push({ target: 'prune', method: 'tagged_images', ours: () => prune.taggedImages() });
  calls.push({
    target: 'prune',
    method: 'app_containers',
    kwargs: { retain: config.retainContainers },
    ours: () => prune.appContainers(config.retainContainers),
  });
  const registry = new RegistryCommands(config);
  calls.push({ target: 'registry', method: 'logout', ours: () => registry.logout() });
  if (config.registry.local)
    calls.push({ target: 'registry', method: 'setup', ours: () => registry.setup() });
  calls.push({ target: 'registry', method: 'remove', ours: () => registry.remove() });
  for (const m of [
    'install',
    'installed?',
    'running?',
    'superuser?',
    'root?',
    'in_docker_group?',
    'add_to_docker_group',
    'refresh_session',
    'create_network',
  ] as const) {
    const ts = {
      install: 'install',
      'installed?': 'installed',
      'running?': 'running',
      'superuser?': 'superuser',
      'root?': 'root',
      'in_docker_group?': 'inDockerGroup',
      add_to_docker_group: 'addToDockerGroup',
      refresh_session: 'refreshSession',
      create_network: 'createNetwork',
    }[m] as keyof typeof dockerCommands;
    calls.push({ target: 'docker', method: m, ours: () => (dockerCommands[ts] as () => Command)() });
  }
  const server = new ServerCommands(config);
  calls.push({ target: 'server', method: 'ensure_run_directory', ours: () => server.ensureRunDirectory() });
  calls.push({ target: 'server', method: 'remove_app_directory', ours: () => server.removeAppDirectory() });
  calls.push({ target: 'server', method: 'app_directory_count', ours: () => server.appDirectoryCount() });
  const hook = new HookCommands(config, stamp);
  calls.push({ target: 'hook', method: 'run', args: ['pre-deploy'], ours: () => hook.run('pre-deploy') });
  calls.push({
    target: 'hook',
    method: 'env',
    kwargs: { hosts: '1.1.1.1,1.1.1.2', lock: 'true', command: 'deploy', runtime: '12' },
    ours: () => hook.env({ hosts: ['1.1.1.1', '1.1.1.2'], lock: true, command: 'deploy', runtime: 12 }),
  });
  return calls;
}

/** Random exec container names and the lock details' time stamp differ run to run. */
function normalize(text: string): string {
  return text.replace(/-exec-([^ ]+)-[0-9a-f]{6}\b/g, '-exec-$1-XXXXXX');
}

function render(value: Command | Record<string, string>): string {
  if (Array.isArray(value)) return commandLine(value);
  return JSON.stringify(Object.fromEntries(Object.entries(value).filter(([k]) => k.startsWith('KAMAL_'))));
}

const { lib, fixtures, why } = kamalLib();
const ruby = spawnSync('ruby', ['-e', 'require "active_support"; require "zeitwerk"'], { encoding: 'utf8' });
const skip = !lib
  ? why
  : ruby.status !== 0
    ? `ruby with activesupport and zeitwerk is not available (${(ruby.stderr || String(ruby.error)).split('\n')[0]})`
    : false;

interface Compared {
  name: string;
  config: Config;
  /** How the oracle builds the same config: `{ config: raw }` or `{ config_file: path }`, plus destination and version. */
  oracle: Record<string, unknown>;
}

/** Runs every call of every case through Kamal and through wharf; returns the number compared and the differences. */
function compareWithKamal(cases: Compared[]): { compared: number; skipped: string[]; mismatches: string[] } {
  const plans = cases.map((c) => callsFor(c.config));
  const input = cases.map((c, i) => ({
    ...c.oracle,
    calls: plans[i]!.map(({ target, targs, method, args, kwargs }) => ({
      target,
      targs,
      method,
      args,
      kwargs,
    })),
  }));
  const result = spawnSync('ruby', [ORACLE, stubs(), lib!], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(result.status, 0, result.stderr);
  const kamal = JSON.parse(result.stdout) as (string[] | { error: string })[];
  let compared = 0;
  const skipped: string[] = [];
  const mismatches: string[] = [];
  plans.forEach((calls, i) => {
    const out = kamal[i]!;
    if (!Array.isArray(out)) {
      skipped.push(`${cases[i]!.name}: Kamal refused it (${out.error})`);
      return;
    }
    calls.forEach((call, j) => {
      let theirs = out[j]!;
      if (call.collapseSpaces) theirs = theirs.replace(/ {2,}/g, ' ');
      const ours = normalize(render(call.ours()));
      theirs = normalize(theirs);
      if (call.target === 'hook' && call.method === 'env') theirs = JSON.stringify(JSON.parse(theirs));
      compared++;
      if (ours !== theirs)
        mismatches.push(
          `[${cases[i]!.name}] ${call.target}${call.targs ? JSON.stringify(call.targs) : ''}.${call.method}(${JSON.stringify(call.args ?? [])} ${JSON.stringify(call.kwargs ?? {})})\n  kamal: ${theirs}\n  wharf: ${ours}`,
        );
    });
  });
  return { compared, skipped, mismatches };
}

test(
  'every Kamal command class renders the same text as wharf for a corpus of configs',
  { skip },
  async () => {
    const cases: Compared[] = [];
    for (const c of CASES) {
      const config = await load(c.raw, {
        destination: c.destination,
        version: c.version ?? '999',
        files: { 'config/init.sql': 'select 1;\n' },
      });
      cases.push({
        name: c.name,
        config,
        oracle: { config: c.raw, destination: c.destination ?? null, version: c.version ?? '999' },
      });
    }
    const { compared, skipped, mismatches } = compareWithKamal(cases);
    assert.deepEqual(skipped, []);
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} differ:\n${mismatches.join('\n')}`);
    assert.ok(compared > 300, `compared ${compared}`);
  },
);

test(
  "and for every deploy*.yml fixture of Kamal's test suite (with each destination overlay)",
  { skip: skip || (!fixtures ? 'no Kamal test/fixtures' : false) },
  async (t) => {
    const files = readdirSync(fixtures!).filter((f) => /^deploy.*\.yml$/.test(f));
    const cases: Compared[] = [];
    const refused: string[] = [];
    for (const file of files) {
      const base = file.replace(/\.yml$/, '');
      const destinations = [
        undefined,
        ...files
          .filter((f) => f.startsWith(`${base}.`) && f.split('.').length === base.split('.').length + 2)
          .map((f) => f.slice(base.length + 1, -4)),
      ];
      for (const destination of destinations) {
        const name = `${file}${destination ? ` -d ${destination}` : ''}`;
        try {
          const config = await loadConfig({
            cwd: join(fixtures!, '..', '..'),
            configFile: join(fixtures!, file),
            destination,
            version: '999',
            env: { PATH: process.env.PATH ?? '' },
            localArch: 'amd64',
          });
          cases.push({
            name,
            config,
            oracle: { config_file: join(fixtures!, file), destination: destination ?? null, version: '999' },
          });
        } catch (e) {
          refused.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    const { compared, skipped, mismatches } = compareWithKamal(cases);
    t.diagnostic(`${cases.length - skipped.length} fixture configs, ${compared} commands compared`);
    for (const r of refused) t.diagnostic(`wharf refused ${r}`);
    for (const r of skipped) t.diagnostic(`Kamal refused ${r}`);
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} differ:\n${mismatches.join('\n')}`);
    // Most fixtures load in both; the rest are refused by one side on purpose (missing destination, invalid on purpose).
    assert.ok(
      cases.length - skipped.length >= 30,
      `only ${cases.length - skipped.length} fixtures compared; wharf refused: ${refused.join('; ')}; Kamal refused: ${skipped.join('; ')}`,
    );
    assert.ok(compared > 2500, `compared ${compared}`);
  },
);
