/**
 * wharf-proxy's image. No public image has to exist: when the proxy image
 * wharf runs is missing from the project's registry, wharf builds it from its
 * own installed wharf-proxy package (tagged with wharf's version) with a plain
 * `docker build`, and pushes it there. The default image lives beside the
 * app's image: `<registry>/<namespace>/wharf-proxy:<wharf version>`.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
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

/**
 * Makes sure `image` is in its registry: a local copy is pushed as is;
 * otherwise it is built from the installed wharf-proxy package first.
 * BASE is the fleet's Node image when the engine has it, else node:20-bookworm-slim.
 */
export async function ensureProxyImage(
  client: DockerClient,
  image: string,
  log: (line: string) => void,
): Promise<'pushed' | 'built'> {
  let built = false;
  if (!(await client.imageExists(image))) {
    const pkg = proxyPackageDir();
    const script = (await import(pathToFileURL(join(pkg, 'scripts', 'image-context.mjs')).href)) as {
      stageContext: (out: string) => string;
    };
    const context = mkdtempSync(join(tmpdir(), 'wharf-proxy-image-'));
    try {
      script.stageContext(context);
      const base = (await client.imageExists('wharf/node:bookworm'))
        ? 'wharf/node:bookworm'
        : 'node:20-bookworm-slim';
      log(`Building ${image} from the installed wharf-proxy package (FROM ${base})…`);
      const result = await client.run(['build', '--build-arg', `BASE=${base}`, '-t', image, context], {
        env: { DOCKER_BUILDKIT: '0' },
      });
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
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
  const push = await client.run(['push', image]);
  if (push.code !== 0) {
    throw new UserError(
      `Pushing the wharf-proxy image ${image} failed: ${firstLine(push.stderr || push.stdout)}; check the registry login.`,
    );
  }
  return built ? 'built' : 'pushed';
}
