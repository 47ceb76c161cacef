/**
 * What the local docker CLI and engine can build with: buildx (then wharf
 * runs Kamal's exact buildx commands), or plain `docker build`, which can use
 * BuildKit through DOCKER_BUILDKIT=1 only in CLIs before 23.0 (later CLIs
 * need the buildx plugin for BuildKit and fall back to the classic builder).
 */
import type { DockerClient } from '../docker/client.js';
import { UserError } from '../util/errors.js';
import { localDockerArch, type BuildCapabilities } from './spec.js';

export interface DetectedCapabilities extends BuildCapabilities {
  buildkit: boolean;
  engineArch: string;
  clientVersion: string;
  serverVersion: string;
}

/** Docker's architecture names for `uname -m`/Go names the engine reports. */
export function dockerArchName(arch: string): string {
  const map: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm', x64: 'amd64' };
  return map[arch] ?? arch;
}

/** Major version of a docker version string ("28.2.2" → 28, "20.10.24+dfsg1" → 20). */
export function majorVersion(version: string): number {
  const major = Number(/^(\d+)/.exec(version.trim())?.[1] ?? NaN);
  return Number.isFinite(major) ? major : 0;
}

/** Plain `docker build` can use BuildKit only when the CLI predates 23.0 (built-in BuildKit client) and the engine is 18.09+. */
export function plainBuildkitSupported(clientVersion: string, serverVersion: string): boolean {
  const client = majorVersion(clientVersion);
  const server = majorVersion(serverVersion);
  return client > 0 && client < 23 && server >= 18;
}

export async function detectCapabilities(client: DockerClient): Promise<DetectedCapabilities> {
  let versions;
  try {
    versions = await client.run(
      ['version', '--format', '{{.Client.Version}} {{.Server.Version}} {{.Server.Arch}}'],
      {
        timeoutMs: 15_000,
      },
    );
  } catch (error) {
    throw new UserError(
      'The docker CLI is not installed; install Docker (on Debian: apt-get install -y docker.io) and run again.',
      {
        cause: error,
      },
    );
  }
  const [clientVersion = '', serverVersion = '', arch = ''] = versions.stdout.trim().split(/\s+/);
  if (versions.code !== 0 || serverVersion === '') {
    throw new UserError(
      `The Docker engine at ${client.host} does not answer; start it (or run \`wharf fleet up\`) and run again.`,
    );
  }
  const buildx = (await client.run(['buildx', 'version'], { timeoutMs: 15_000 })).code === 0;
  return {
    buildx,
    buildkit: !buildx && plainBuildkitSupported(clientVersion, serverVersion),
    engineArch: arch ? dockerArchName(arch) : localDockerArch(),
    clientVersion,
    serverVersion,
  };
}
