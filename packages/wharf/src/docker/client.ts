import { execFile, type ExecOptions, type ExecResult } from '../util/exec.js';
import { firstLine, UserError } from '../util/errors.js';

/**
 * The local `docker` CLI bound to one engine. Every call passes DOCKER_HOST
 * explicitly so wharf never depends on the caller's shell state.
 */
export class DockerClient {
  constructor(
    readonly host: string,
    readonly bin: string = process.env.WHARF_DOCKER_BIN || 'docker',
  ) {}

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host };
  }

  /** Runs `docker ARGS`; resolves with the result whatever the exit code. */
  run(args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return execFile(this.bin, args, { ...options, env: { ...this.env(), ...options.env } });
  }

  /** Runs `docker ARGS` and returns stdout; a failure becomes a UserError naming `what`. */
  async ok(args: readonly string[], what: string, options: ExecOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new UserError(
        `${what} failed: ${firstLine(result.stderr || result.stdout) || `docker exited with ${result.code}`}.`,
      );
    }
    return result.stdout;
  }

  /** Parses one JSON document per line (the output of `--format '{{json .}}'`). */
  async jsonLines<T>(args: readonly string[], what: string): Promise<T[]> {
    const out = await this.ok(args, what);
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as T);
  }

  async imageLabel(image: string, label: string): Promise<string | undefined> {
    const result = await this.run(['image', 'inspect', '--format', `{{json .Config.Labels}}`, image]);
    if (result.code !== 0) return undefined;
    const labels = JSON.parse(result.stdout.trim() || 'null') as Record<string, string> | null;
    return labels?.[label];
  }

  async imageExists(image: string): Promise<boolean> {
    return (await this.run(['image', 'inspect', '--format', '{{.Id}}', image])).code === 0;
  }
}
