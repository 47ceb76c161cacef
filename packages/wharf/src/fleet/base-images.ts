import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DockerClient } from '../docker/client.js';
import { execFile, canRun } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { withLocalLock } from '../util/lock.js';
import { wharfHome } from '../util/paths.js';
import { REGISTRY_CONFIG, SERVER_INIT, SSHD_CONFIG } from './server-image-files.js';

export type BaseImageKey = 'debian' | 'node' | 'server';

/** How one base image is made: Debian packages via debootstrap, plus a few files. */
export interface BaseImageRecipe {
  key: BaseImageKey;
  repository: string;
  packages: string[];
  files: { path: string; content: string; mode: number }[];
  /** Copy this machine's Node.js binary into /usr/local/bin/node. */
  withHostNode: boolean;
  cmd: string[];
}

const RECIPE_VERSION = 3;
const TRIM = [
  'var/cache/apt/archives',
  'var/lib/apt/lists',
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
];

export function baseImageRecipes(): Record<BaseImageKey, BaseImageRecipe> {
  return {
    debian: {
      key: 'debian',
      repository: 'wharf/debian',
      packages: ['ca-certificates'],
      files: [],
      withHostNode: false,
      cmd: ['/bin/bash'],
    },
    node: {
      key: 'node',
      repository: 'wharf/node',
      packages: ['ca-certificates', 'libstdc++6'],
      files: [],
      withHostNode: true,
      cmd: ['node'],
    },
    server: {
      key: 'server',
      repository: 'wharf/fleet-server',
      packages: [
        'docker.io',
        'openssh-server',
        'iproute2',
        'iptables',
        'ca-certificates',
        'curl',
        'socat',
        'procps',
        'docker-registry',
      ],
      files: [
        { path: 'usr/local/sbin/wharf-server-init', content: SERVER_INIT, mode: 0o755 },
        { path: 'etc/ssh/sshd_config.d/wharf-fleet.conf', content: SSHD_CONFIG, mode: 0o644 },
        { path: 'etc/wharf/registry.yml', content: REGISTRY_CONFIG, mode: 0o644 },
      ],
      withHostNode: false,
      cmd: ['/usr/local/sbin/wharf-server-init'],
    },
  };
}

/** The Debian release and mirror to build from, read from this machine (never hard-coded). */
export interface DebianSource {
  suite: string;
  mirror: string;
}

export function parseAptMirror(sourcesText: string): string | undefined {
  // deb822 (.sources): the URIs line of a stanza whose suite is not -security.
  for (const stanza of sourcesText.split(/\n\s*\n/)) {
    const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
    const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
    if (uris && !/-security/.test(suites) && /debian/.test(uris) && !/security/.test(uris)) return uris;
  }
  // one-line format
  for (const line of sourcesText.split('\n')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
    if (m && m[1] && !/security/.test(m[1]) && !/-security/.test(m[2] ?? '') && /debian/.test(m[1]))
      return m[1];
  }
  return undefined;
}

export function detectDebianSource(): DebianSource {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const suite =
    process.env.WHARF_DEBIAN_SUITE || /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1] || 'bookworm';
  let mirror = process.env.WHARF_DEBIAN_MIRROR;
  if (!mirror) {
    const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
    for (const file of files) {
      if (!existsSync(file)) continue;
      mirror = parseAptMirror(readFileSync(file, 'utf8'));
      if (mirror) break;
    }
  }
  if (!mirror) {
    throw new UserError(
      'No Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set WHARF_DEBIAN_MIRROR to a Debian mirror URL.',
    );
  }
  return { suite, mirror };
}

/** A stable fingerprint of what goes into an image; a changed recipe means a rebuild. */
export function recipeHash(recipe: BaseImageRecipe, source: DebianSource, nodeVersion: string): string {
  const payload = JSON.stringify({
    v: RECIPE_VERSION,
    recipe,
    suite: source.suite,
    node: recipe.withHostNode ? nodeVersion : '',
  });
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

export function imageRef(recipe: BaseImageRecipe, source: DebianSource): string {
  return `${recipe.repository}:${source.suite}`;
}

async function ensureDebootstrap(log: (line: string) => void): Promise<void> {
  if (await canRun('debootstrap', ['--version'])) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new UserError(
      'Building the fleet base images needs debootstrap and root; install debootstrap (apt-get install -y debootstrap) and run as root.',
    );
  }
  log('Installing debootstrap (apt-get install -y debootstrap)…');
  const result = await execFile('apt-get', ['install', '-y', '-qq', 'debootstrap'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.code !== 0) {
    throw new UserError(
      `Installing debootstrap failed (${result.stderr.trim().split('\n').pop()}); install it by hand and run again.`,
    );
  }
}

async function buildOne(
  docker: DockerClient,
  recipe: BaseImageRecipe,
  source: DebianSource,
  hash: string,
  log: (line: string) => void,
): Promise<void> {
  const ref = imageRef(recipe, source);
  const root = join(wharfHome(), 'cache', 'rootfs', `${recipe.key}-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const started = Date.now();
  log(`Building base image ${ref} from Debian packages (${source.suite}, ${source.mirror})…`);
  try {
    const args = [
      '--variant=minbase',
      `--include=${recipe.packages.join(',')}`,
      source.suite,
      root,
      source.mirror,
    ];
    const result = await execFile('debootstrap', args);
    if (result.code !== 0) {
      const tail = (result.stdout + result.stderr).trim().split('\n').slice(-2).join(' ');
      throw new UserError(
        `debootstrap of ${ref} from ${source.mirror} failed (${tail}); check that the mirror is reachable.`,
      );
    }
    for (const path of TRIM) {
      await rm(join(root, path), { recursive: true, force: true });
      await mkdir(join(root, path), { recursive: true });
    }
    if (recipe.key === 'server') {
      // Host keys are generated on each server's first boot, so no two servers share one.
      for (const file of ['ssh_host_rsa_key', 'ssh_host_ecdsa_key', 'ssh_host_ed25519_key']) {
        await rm(join(root, 'etc/ssh', file), { force: true });
        await rm(join(root, 'etc/ssh', `${file}.pub`), { force: true });
      }
    }
    for (const file of recipe.files) {
      const target = join(root, file.path);
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, file.content);
      await chmod(target, file.mode);
    }
    if (recipe.withHostNode) {
      await copyFile(process.execPath, join(root, 'usr/local/bin/node'));
      await chmod(join(root, 'usr/local/bin/node'), 0o755);
    }
    await importRootfs(docker, root, ref, [
      `LABEL wharf.recipe=${hash}`,
      `LABEL wharf.base=${recipe.key}`,
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `CMD ${JSON.stringify(recipe.cmd)}`,
    ]);
    log(`Built ${ref} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function importRootfs(docker: DockerClient, root: string, ref: string, changes: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const args = ['import', ...changes.flatMap((c) => ['--change', c]), '-', ref];
    const importing = docker.run(args, { input: tar.stdout! });
    let tarError = '';
    tar.stderr!.on('data', (d: Buffer) => (tarError += d.toString()));
    tar.on('error', reject);
    importing.then((result) => {
      if (result.code !== 0)
        reject(new UserError(`docker import of ${ref} failed: ${result.stderr.trim()}.`));
      else if (tar.exitCode !== null && tar.exitCode !== 0)
        reject(new UserError(`tar of ${root} failed: ${tarError.trim()}.`));
      else resolve();
    }, reject);
  });
}

export type BaseImageRefs = Record<BaseImageKey, string>;

/**
 * Makes sure the base images exist in the engine with the current recipe,
 * building the missing ones in parallel. Cached images are reused as they are.
 */
export async function ensureBaseImages(
  docker: DockerClient,
  log: (line: string) => void,
): Promise<BaseImageRefs> {
  const source = detectDebianSource();
  const recipes = Object.values(baseImageRecipes());
  const refs = Object.fromEntries(recipes.map((r) => [r.key, imageRef(r, source)])) as BaseImageRefs;
  const stale = async (): Promise<BaseImageRecipe[]> => {
    const out: BaseImageRecipe[] = [];
    for (const recipe of recipes) {
      const want = recipeHash(recipe, source, process.version);
      if ((await docker.imageLabel(imageRef(recipe, source), 'wharf.recipe')) !== want) out.push(recipe);
    }
    return out;
  };
  if ((await stale()).length === 0) return refs;
  await mkdir(wharfHome(), { recursive: true });
  await withLocalLock(join(wharfHome(), 'base-images.lock'), 'the base images', async () => {
    const todo = await stale();
    if (todo.length === 0) return;
    await ensureDebootstrap(log);
    await Promise.all(
      todo.map((recipe) =>
        buildOne(docker, recipe, source, recipeHash(recipe, source, process.version), log),
      ),
    );
  });
  return refs;
}
