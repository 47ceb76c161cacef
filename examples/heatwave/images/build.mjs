#!/usr/bin/env node
// Builds the heatwave example's accessory images from Debian packages, on the
// fleet's engine, and pushes them to a registry.
//
//   node examples/heatwave/images/build.mjs --fleet heatwave
//   node examples/heatwave/images/build.mjs --registry localhost:5686 [--docker-host unix:///…] [--no-push] [--only postgres,valkey]
//
// One debootstrap makes a shared "data" base (PostgreSQL 15 with contrib,
// hypopg and pg_repack; pgbouncer; HAProxy; redis-server) from the Debian
// mirror in this machine's apt sources, imported with `docker import`; each
// accessory image is then a thin `docker build` on top of it that only adds an
// entrypoint. The SMTP sink (mailpit stand-in) is a Node program on the fleet's
// wharf/node image. Nothing is pulled from a public registry and no build step
// inside a container needs the network.
//
// Every image is tagged with its upstream major version (the tag the example's
// config names, e.g. heatwave-postgres:15) and its full version
// (heatwave-postgres:15.20). An image whose tag already exists with the same
// recipe (label heatwave.recipe) is not rebuilt; a changed entrypoint or
// package list rebuilds it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Bump to force a rebuild of the shared base when its recipe changes in ways the lists below don't show. */
const BASE_RECIPE_VERSION = 1;

/** The Debian packages in the shared data base. */
export const BASE_PACKAGES = [
  'ca-certificates',
  'postgresql-15',
  'postgresql-15-hypopg',
  'postgresql-15-repack',
  'pgbouncer',
  'haproxy',
  'redis-server',
];

/** Directories emptied in the base rootfs: docs and apt caches. */
const TRIM = [
  'var/cache/apt/archives',
  'var/lib/apt/lists',
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
];

/**
 * Paths removed from the base rootfs (about half its size): the cluster Debian's
 * postinst creates; PostgreSQL's LLVM JIT (libLLVM, z3, llvmjit, bitcode), which
 * PostgreSQL skips when its provider cannot load; translations and locale sources
 * (C.UTF-8 is built into glibc).
 */
const REMOVE = [
  'var/lib/postgresql/15/main',
  'etc/postgresql/15/main',
  'usr/lib/x86_64-linux-gnu/libLLVM-14.so.1',
  'usr/lib/x86_64-linux-gnu/libLLVM-14.so',
  'usr/lib/llvm-14',
  'usr/lib/x86_64-linux-gnu/libz3.so.4',
  'usr/lib/postgresql/15/lib/bitcode',
  'usr/lib/postgresql/15/lib/llvmjit.so',
  'usr/lib/postgresql/15/lib/llvmjit_types.bc',
  'usr/share/locale',
  'usr/share/i18n',
];

/** The SMTP sink's own version (it is not a Debian package). */
export const MAILPIT_VERSION = '1.0.0';

/**
 * The accessory images. `package` is the Debian package whose version names
 * the image; `majorParts` how many dotted parts make the short tag.
 */
export const IMAGES = {
  postgres: {
    repository: 'heatwave-postgres',
    dir: 'postgres',
    base: 'data',
    package: 'postgresql-15',
    majorParts: 1,
  },
  pgbouncer: {
    repository: 'heatwave-pgbouncer',
    dir: 'pgbouncer',
    base: 'data',
    package: 'pgbouncer',
    majorParts: 2,
  },
  haproxy: {
    repository: 'heatwave-haproxy',
    dir: 'haproxy',
    base: 'data',
    package: 'haproxy',
    majorParts: 2,
  },
  valkey: {
    repository: 'heatwave-valkey',
    dir: 'valkey',
    base: 'data',
    package: 'redis-server',
    majorParts: 2,
  },
  mailpit: {
    repository: 'heatwave-mailpit',
    dir: 'mailpit',
    base: 'node',
    version: MAILPIT_VERSION,
    majorParts: 1,
  },
};

/** Upstream version of a Debian package version: no epoch, no Debian revision (5:7.0.15-1~deb12u10 → 7.0.15). */
export function upstreamVersion(debianVersion) {
  return debianVersion.replace(/^\d+:/, '').replace(/[-+~].*$/, '');
}

/** The short tag: the first `parts` dotted parts (15.20 → 15, 1.18.0 → 1.18). */
export function majorTag(version, parts) {
  return version.split('.').slice(0, parts).join('.');
}

/** Full image reference for a repository and tag under an optional registry. */
export function imageRef(registry, repository, tag) {
  return registry ? `${registry}/${repository}:${tag}` : `${repository}:${tag}`;
}

/**
 * The references the example's config uses (the major-version tags), without
 * building anything. Versions come from the base image when it exists, else
 * from the defaults below (bookworm's).
 */
export const DEFAULT_TAGS = {
  postgres: '15',
  pgbouncer: '1.18',
  haproxy: '2.6',
  valkey: '7.0',
  mailpit: '1',
};

export function heatwaveImageRefs(registry, tags = DEFAULT_TAGS) {
  return Object.fromEntries(
    Object.entries(IMAGES).map(([key, image]) => [key, imageRef(registry, image.repository, tags[key])]),
  );
}

// ---- small process helpers -------------------------------------------------

function run(command, args, { env, input, inputStream, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!quiet) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (inputStream) inputStream.pipe(child.stdin);
    else child.stdin.end(input ?? '');
  });
}

function tail(text, lines = 3) {
  return text.trim().split('\n').slice(-lines).join(' | ');
}

function hash(parts) {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function filesOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push([path.slice(dir.length + 1), readFileSync(path, 'utf8')]);
    }
  };
  walk(dir);
  return out;
}

// ---- Debian source (same rules as wharf's fleet base images) ---------------

export function detectDebianSource() {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const suite =
    process.env.WHARF_DEBIAN_SUITE || /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1] || 'bookworm';
  let mirror = process.env.WHARF_DEBIAN_MIRROR;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (mirror || !existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
      if (uris && /debian/.test(uris) && !/security/.test(uris) && !/-security/.test(suites)) {
        mirror = uris;
        break;
      }
    }
    if (mirror) break;
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m && /debian/.test(m[1]) && !/security/.test(m[1]) && !/-security/.test(m[2])) {
        mirror = m[1];
        break;
      }
    }
  }
  if (!mirror) {
    throw new Error(
      'No Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set WHARF_DEBIAN_MIRROR to a Debian mirror URL.',
    );
  }
  return { suite, mirror };
}

// ---- a lock so two builds on one machine don't debootstrap twice -----------

async function withLock(dir, what, fn, log) {
  await mkdir(dirname(dir), { recursive: true });
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      let alive = true;
      if (holder) {
        try {
          process.kill(holder, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive || Date.now() - started > 30 * 60_000) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        log(`Waiting for another build of ${what} (pid ${holder || '?'})…`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- docker ----------------------------------------------------------------

class Docker {
  constructor(host) {
    this.env = { ...process.env };
    if (host) this.env.DOCKER_HOST = host;
  }
  run(args, options = {}) {
    return run('docker', args, { env: this.env, ...options });
  }
  async must(args, what, options) {
    const result = await this.run(args, options);
    if (result.code !== 0) throw new Error(`${what} failed: ${tail(result.stderr || result.stdout)}`);
    return result.stdout;
  }
  async label(ref, key) {
    const result = await this.run([
      'image',
      'inspect',
      '--format',
      `{{ index .Config.Labels "${key}" }}`,
      ref,
    ]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }
}

// ---- the shared base ---------------------------------------------------------

function wharfHome() {
  return process.env.WHARF_HOME || join(homedir(), '.wharf');
}

async function debianVersions(root, packages) {
  const result = await run('chroot', [
    root,
    'dpkg-query',
    '-W',
    '-f',
    '${Package} ${Version}\\n',
    ...packages,
  ]);
  if (result.code !== 0) throw new Error(`dpkg-query in the new base failed: ${tail(result.stderr)}`);
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')),
  );
}

async function buildBase(docker, ref, recipeHash, source, log) {
  const root = join(wharfHome(), 'cache', `heatwave-rootfs-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const started = Date.now();
  log(
    `Building ${ref} from Debian packages (${source.suite}, ${source.mirror}): ${BASE_PACKAGES.join(', ')}…`,
  );
  try {
    // Downloaded .debs are kept, so a rebuild (changed recipe) only unpacks again.
    const debs = join(wharfHome(), 'cache', 'heatwave-debs');
    await mkdir(debs, { recursive: true });
    const result = await run('debootstrap', [
      '--variant=minbase',
      `--cache-dir=${debs}`,
      `--include=${BASE_PACKAGES.join(',')}`,
      source.suite,
      root,
      source.mirror,
    ]);
    if (result.code !== 0) {
      throw new Error(
        `debootstrap of ${ref} from ${source.mirror} failed (${tail(result.stdout + result.stderr, 2)}); check that the mirror is reachable and debootstrap is installed.`,
      );
    }
    const versions = await debianVersions(
      root,
      BASE_PACKAGES.filter((p) => p !== 'ca-certificates'),
    );
    for (const path of TRIM) {
      await rm(join(root, path), { recursive: true, force: true });
      await mkdir(join(root, path), { recursive: true });
    }
    for (const path of REMOVE) await rm(join(root, path), { recursive: true, force: true });
    // No cluster on package install in derived images either.
    await writeFile(join(root, 'etc/postgresql-common/createcluster.conf'), 'create_main_cluster = false\n');
    await chmod(join(root, 'etc/postgresql-common/createcluster.conf'), 0o644);
    const changes = [
      `LABEL heatwave.recipe=${recipeHash}`,
      ...Object.entries(versions).map(([pkg, version]) => `LABEL heatwave.version.${pkg}=${version}`),
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'ENV LANG=C.UTF-8',
      'CMD ["/bin/bash"]',
    ];
    await new Promise((resolve, reject) => {
      const tar = spawn('tar', ['-C', root, '--numeric-owner', '-c', '.'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      tar.on('error', reject);
      docker
        .run(['import', ...changes.flatMap((c) => ['--change', c]), '-', ref], { inputStream: tar.stdout })
        .then(
          (r) =>
            r.code === 0 ? resolve() : reject(new Error(`docker import of ${ref} failed: ${tail(r.stderr)}`)),
          reject,
        );
    });
    log(`Built ${ref} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function ensureBase(docker, source, log) {
  const recipe = hash({
    v: BASE_RECIPE_VERSION,
    packages: BASE_PACKAGES,
    trim: TRIM,
    remove: REMOVE,
    suite: source.suite,
  });
  const ref = `heatwave/data-base:${recipe}`;
  if ((await docker.label(ref, 'heatwave.recipe')) !== recipe) {
    await withLock(
      join(wharfHome(), 'cache', 'heatwave-base.lock'),
      ref,
      async () => {
        if ((await docker.label(ref, 'heatwave.recipe')) === recipe) return;
        await buildBase(docker, ref, recipe, source, log);
      },
      log,
    );
  }
  const versions = {};
  for (const pkg of BASE_PACKAGES) {
    const version = await docker.label(ref, `heatwave.version.${pkg}`);
    if (version) versions[pkg] = version;
  }
  return { ref, recipe, versions };
}

// ---- the accessory images ----------------------------------------------------

/**
 * Builds (when missing or stale) and pushes the accessory images.
 *
 * options: registry ("localhost:5686"; omitted → local names only, no push),
 * dockerHost (default DOCKER_HOST), push (default true when registry is set),
 * only (keys of IMAGES), nodeImage (default wharf/node:bookworm), log.
 *
 * Returns { images: {key: ref with the major tag}, tags: {key: [refs]},
 * versions: {key: full version}, built: [keys], skipped: [keys], seconds }.
 */
export async function buildHeatwaveImages(options = {}) {
  const started = Date.now();
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const registry = options.registry;
  const push = options.push ?? Boolean(registry);
  const nodeImage = options.nodeImage ?? 'wharf/node:bookworm';
  const docker = new Docker(options.dockerHost ?? process.env.DOCKER_HOST);
  const keys = options.only ?? Object.keys(IMAGES);
  for (const key of keys)
    if (!IMAGES[key])
      throw new Error(`Unknown heatwave image "${key}"; known: ${Object.keys(IMAGES).join(', ')}.`);

  const needsData = keys.some((k) => IMAGES[k].base === 'data');
  const base = needsData ? await ensureBase(docker, detectDebianSource(), log) : undefined;
  const nodeId = keys.some((k) => IMAGES[k].base === 'node')
    ? (
        await docker.must(
          ['image', 'inspect', '--format', '{{.Id}}', nodeImage],
          `docker image inspect ${nodeImage} (run \`wharf fleet up\` first)`,
        )
      ).trim()
    : '';

  const result = { images: {}, tags: {}, versions: {}, built: [], skipped: [], seconds: 0 };
  const pushes = [];
  for (const key of keys) {
    const image = IMAGES[key];
    const version = image.version ?? upstreamVersion(base.versions[image.package] ?? '');
    if (!version)
      throw new Error(`The base image has no version label for ${image.package}; delete it and build again.`);
    const major = majorTag(version, image.majorParts);
    const refs = [
      ...new Set([
        imageRef(registry, image.repository, major),
        imageRef(registry, image.repository, version),
      ]),
    ];
    const from = image.base === 'data' ? base.ref : nodeImage;
    const dir = join(HERE, image.dir);
    const recipe = hash({ from: image.base === 'data' ? base.recipe : nodeId, files: filesOf(dir), version });
    result.images[key] = refs[0];
    result.tags[key] = refs;
    result.versions[key] = version;
    const current = await Promise.all(refs.map((ref) => docker.label(ref, 'heatwave.recipe')));
    if (current.every((label) => label === recipe)) {
      result.skipped.push(key);
    } else {
      const t0 = Date.now();
      await docker.must(
        [
          'build',
          '--quiet',
          '--build-arg',
          `BASE=${from}`,
          '--label',
          `heatwave.recipe=${recipe}`,
          '--label',
          `org.opencontainers.image.version=${version}`,
          ...refs.flatMap((ref) => ['--tag', ref]),
          dir,
        ],
        `docker build of ${refs[0]}`,
      );
      log(`Built ${refs.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
      result.built.push(key);
    }
    if (push) pushes.push({ base: image.base, refs });
  }
  // Three waves, so no two concurrent pushes upload the same blob (the registry answers
  // 500 to some of those races): one image per base first (the big shared base layer
  // uploads once), then the first tag of every other image (the registry mounts the shared
  // layers), then the remaining tags, which are manifests only.
  const pushAll = (refs) => Promise.all(refs.map((ref) => pushWithRetry(docker, ref, log)));
  const firsts = [...new Map(pushes.map((p) => [p.base, p.refs[0]])).values()];
  const heads = pushes.map((p) => p.refs[0]).filter((ref) => !firsts.includes(ref));
  await pushAll(firsts);
  await pushAll(heads);
  await pushAll(pushes.flatMap((p) => p.refs.slice(1)));
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** `docker push` is idempotent; a registry's transient 5xx gets two more tries. */
async function pushWithRetry(docker, ref, log) {
  for (let attempt = 1; ; attempt++) {
    const result = await docker.run(['push', ref]);
    if (result.code === 0) return;
    const reason = tail(result.stderr || result.stdout);
    if (attempt >= 3 || !/\b5\d\d\b|timeout|connection reset|EOF/i.test(reason))
      throw new Error(`docker push ${ref} failed: ${reason}`);
    log(`docker push ${ref} failed (${reason.trim()}); trying again (${attempt + 1} of 3).`);
    await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
  }
}

// ---- CLI ---------------------------------------------------------------------

function parseCli(argv) {
  const opts = { push: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value.`);
      return v;
    };
    if (arg === '--registry') opts.registry = value();
    else if (arg === '--docker-host') opts.dockerHost = value();
    else if (arg === '--fleet') opts.fleet = value();
    else if (arg === '--only') opts.only = value().split(',').filter(Boolean);
    else if (arg === '--no-push') opts.push = false;
    else if (arg === '--json') opts.json = true;
    else if (arg === '-h' || arg === '--help') opts.help = true;
    else throw new Error(`Unknown option ${arg}; see --help.`);
  }
  return opts;
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(
      'Usage: build.mjs [--fleet NAME | --registry HOST:PORT [--docker-host URL]] [--only a,b] [--no-push] [--json]\n',
    );
    return;
  }
  if (opts.fleet) {
    const file = join(wharfHome(), 'fleets', opts.fleet, 'fleet.json');
    if (!existsSync(file))
      throw new Error(
        `Fleet "${opts.fleet}" is not up (no ${file}); run \`wharf fleet up --name ${opts.fleet}\` first.`,
      );
    const state = JSON.parse(await readFile(file, 'utf8'));
    opts.dockerHost ??= state.dockerHost;
    opts.registry ??= `localhost:${state.registryPort}`;
  }
  const result = await buildHeatwaveImages(opts);
  if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    for (const [key, refs] of Object.entries(result.tags)) {
      process.stdout.write(
        `${key.padEnd(10)} ${refs.join('  ')}${result.skipped.includes(key) ? '  (cached)' : ''}\n`,
      );
    }
    process.stdout.write(`done in ${result.seconds.toFixed(1)} s\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
