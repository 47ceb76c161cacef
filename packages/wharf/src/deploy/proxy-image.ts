/**
 * wharf-proxy's image. No public image has to exist: before booting the proxy
 * wharf builds its image from its own installed wharf-proxy package (tagged
 * with wharf's version; rebuilt only when the package's files changed) with a
 * plain `docker build`, and pushes it to the project's registry. The default image lives beside the
 * app's image: `<registry>/<namespace>/wharf-proxy:<wharf version>`.
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/index.js';
import type { DockerClient } from '../docker/client.js';
import { firstLine, UserError } from '../util/errors.js';
import { WHARF_VERSION } from '../version.js';

export const WHARF_PROXY_REPOSITORY = 'wharf-proxy';

/** `<registry>/<namespace>/wharf-proxy` next to the app image (`localhost:5555/hello` → `localhost:5555/wharf-proxy`). */
export function defaultProxyRepository(config: Config): string {
  const repository = config.repository;
  const slash = repository.lastIndexOf('/');
  return slash < 0 ? WHARF_PROXY_REPOSITORY : `${repository.slice(0, slash)}/${WHARF_PROXY_REPOSITORY}`;
}

export function defaultProxyImage(config: Config): { repository: string; version: string; image: string } {
  const repository = defaultProxyRepository(config);
  return { repository, version: WHARF_VERSION, image: `${repository}:${WHARF_VERSION}` };
}

/** The directory of the installed wharf-proxy package. */
export function proxyPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('wharf-proxy/package.json'));
  } catch {
    throw new UserError(
      'The wharf-proxy package is not installed next to wharf, so its image cannot be built; reinstall wharf (npm ci).',
    );
  }
}

/** The label that records which wharf-proxy build an image was made from. */
export const PROXY_SOURCE_LABEL = 'dev.wharf.proxy.source';

/** sha256 over every file of a staged build context (paths and contents, in a stable order). */
export function contextDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    )) {
      const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else
        hash
          .update(`${path}\0`)
          .update(readFileSync(join(dir, path)))
          .update('\0');
    }
  };
  walk('');
  return hash.digest('hex').slice(0, 24);
}

/**
 * Makes sure `image` is in its registry, built from the installed wharf-proxy
 * package: a local image made from the same files (its label records the
 * context's digest) is pushed as is; a missing one, or one made from other
 * files (wharf-proxy changed under the same version, as in development), is
 * built first. BASE is the fleet's Node image when the engine has it, else
 * node:20-bookworm-slim.
 */
export async function ensureProxyImage(
  client: DockerClient,
  image: string,
  log: (line: string) => void,
): Promise<'pushed' | 'built'> {
  let built = false;
  const pkg = proxyPackageDir();
  const script = (await import(pathToFileURL(join(pkg, 'scripts', 'image-context.mjs')).href)) as {
    stageContext: (out: string) => string;
  };
  const context = mkdtempSync(join(tmpdir(), 'wharf-proxy-image-'));
  try {
    script.stageContext(context);
    const digest = contextDigest(context);
    const existing = await client.run([
      'image',
      'inspect',
      '--format',
      `{{ index .Config.Labels "${PROXY_SOURCE_LABEL}" }}`,
      image,
    ]);
    if (existing.code !== 0 || existing.stdout.trim() !== digest) {
      const base = (await client.imageExists('wharf/node:bookworm'))
        ? 'wharf/node:bookworm'
        : 'node:20-bookworm-slim';
      log(`Building ${image} from the installed wharf-proxy package (FROM ${base})…`);
      const result = await client.run(
        [
          'build',
          '--build-arg',
          `BASE=${base}`,
          '--label',
          `${PROXY_SOURCE_LABEL}=${digest}`,
          '-t',
          image,
          context,
        ],
        { env: { DOCKER_BUILDKIT: '0' } },
      );
      if (result.code !== 0) {
        throw new UserError(
          `Building the wharf-proxy image ${image} failed: ${firstLine(
            result.stderr
              .split('\n')
              .filter((l) => /error/i.test(l))
              .join('\n') || result.stderr,
          )}.`,
        );
      }
      built = true;
    }
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  const push = await client.run(['push', image]);
  if (push.code !== 0) {
    throw new UserError(
      `Pushing the wharf-proxy image ${image} failed: ${firstLine(push.stderr || push.stdout)}; check the registry login.`,
    );
  }
  return built ? 'built' : 'pushed';
}
