/** `wharf build details`: which builder is used, then `docker context ls` and `docker buildx ls`. */
import type { DockerClient } from '../docker/client.js';
import { builderKind, detailsScript } from './builders.js';
import { runScript } from './scripts.js';
import type { BuildSpec } from './spec.js';

export async function buildDetails(spec: BuildSpec, client: DockerClient): Promise<string> {
  const result = await runScript(detailsScript(spec), client);
  return `Builder: ${builderKind(spec)}\n${result.output}`;
}
