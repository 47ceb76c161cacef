import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import type { AdapterRegistry } from './adapters/registry.js';
import { runInlineSecretsCommand } from './commands.js';
import { parseDotenv } from './dotenv.js';
import { Redactor } from './redactor.js';
import { type CommandRunner, chomp, spawnRunner } from './runner.js';
import { shellSplit } from './shellwords.js';

export const DEFAULT_SECRETS_PATH = '.kamal/secrets';

export interface SecretsOptions {
  /** Directory relative paths are resolved against and commands run in (default: the current directory). */
  projectDir?: string;
  /** Kamal's `secrets_path` (default `.kamal/secrets`). */
  secretsPath?: string;
  /** Reads `<secretsPath>.<destination>` instead of `<secretsPath>`. */
  destination?: string;
  /** Environment for `$NAME` and for commands (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Runs `$(…)` commands and password-manager CLIs (default: real processes). */
  runner?: CommandRunner;
  /** Adapters for `kamal secrets fetch` inside the files (default: the built-in registry). */
  adapters?: AdapterRegistry;
  /** Receives every secret value as it is learnt (default: a new one). */
  redactor?: Redactor;
  /** Verbose log lines (already redacted): commands run while loading. */
  log?: (line: string) => void;
}

/**
 * The secrets of one deploy, read from Kamal's secrets files: `<path>-common`
 * then `<path>` (no destination) or `<path>.<destination>`; later files win,
 * missing files are skipped; each file is parsed on its own (a `$NAME` sees
 * earlier lines of the same file, then the environment), as in Kamal.
 * Loaded on first access and only once. `kamal secrets …`/`wharf secrets …`
 * commands in the files run in-process; other `$(…)` commands run via /bin/sh
 * in the project directory. Where Kamal silently keeps the output of a failed
 * command, wharf keeps it too but `get` refuses that secret with an error
 * naming the command.
 */
export interface Secrets {
  /** The files that are read, as configured (relative to the project). */
  readonly filenames: readonly string[];
  /** Those of `filenames` that exist. */
  existingFiles(): string[];
  /** Reads the files now (otherwise the first access does). */
  load(): void;
  /** The value; a UserError naming the files searched when missing. */
  get(name: string): string;
  /** True when the secret is defined and not blank (Kamal's `key?`). */
  has(name: string): boolean;
  /** Secrets whose `$(…)` command failed (get throws for them; toEnv and entries hold what was printed, as Kamal). */
  failedNames(): string[];
  /** Every secret name, in file order. */
  names(): string[];
  /** Every secret as environment variables (for hooks). */
  toEnv(): Record<string, string>;
  /** Ordered pairs (for `secrets print`). */
  entries(): Array<[string, string]>;
  /** Replaces every known secret value in `text` with [REDACTED]; never triggers loading. */
  redact(text: string): string;
  readonly redactor: Redactor;
}

export function createSecrets(options: SecretsOptions = {}): Secrets {
  return new FileSecrets(options);
}

/** `<path>-common` and `<path>` or `<path>.<destination>`, as Kamal names them. */
export function secretsFilenames(secretsPath = DEFAULT_SECRETS_PATH, destination?: string): string[] {
  return [`${secretsPath}-common`, destination ? `${secretsPath}.${destination}` : secretsPath];
}

class FileSecrets implements Secrets {
  readonly filenames: readonly string[];
  readonly redactor: Redactor;
  private readonly projectDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly runner: CommandRunner;
  private values: Map<string, string> | undefined;
  /** Keys whose last assignment ran a `$(…)` command that failed, with the reason. */
  private readonly failed = new Map<string, string>();
  private loading = false;

  constructor(private readonly options: SecretsOptions) {
    this.projectDir = resolve(options.projectDir ?? process.cwd());
    this.filenames = secretsFilenames(options.secretsPath ?? DEFAULT_SECRETS_PATH, options.destination);
    this.env = options.env ?? process.env;
    this.runner = options.runner ?? spawnRunner;
    this.redactor = options.redactor ?? new Redactor();
  }

  private path(file: string): string {
    return isAbsolute(file) ? file : resolve(this.projectDir, file);
  }

  existingFiles(): string[] {
    return this.filenames.filter((file) => {
      try {
        return statSync(this.path(file)).isFile();
      } catch {
        return false;
      }
    });
  }

  load(): void {
    this.all();
  }

  private all(): Map<string, string> {
    if (this.values) return this.values;
    if (this.loading)
      throw new UserError(
        'A secrets file needs its own secrets while loading; remove the `kamal secrets print` (or similar) command from it.',
      );
    this.loading = true;
    try {
      const merged = new Map<string, string>();
      for (const file of this.existingFiles()) {
        const { values, failed } = this.parseFile(file);
        for (const [key, value] of values) {
          merged.set(key, value); // a key keeps its first position, as Ruby's Hash#merge!
          const reason = failed.get(key);
          if (reason === undefined) this.failed.delete(key);
          else this.failed.set(key, reason);
        }
      }
      this.redactor.addAll(merged.values());
      this.values = merged;
      return merged;
    } finally {
      this.loading = false;
    }
  }

  private parseFile(file: string): { values: Map<string, string>; failed: Map<string, string> } {
    let text: string;
    try {
      text = readFileSync(this.path(file), 'utf8');
    } catch (error) {
      throw new UserError(
        `Could not read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check its permissions.`,
      );
    }
    const log = this.options.log;
    const redactor = this.redactor;
    const failed = new Map<string, string>();
    let failure: string | undefined;
    const values = parseDotenv(
      text,
      {
        env: this.env,
        assigned: (key) => {
          if (failure === undefined) failed.delete(key);
          else failed.set(key, failure);
          failure = undefined;
        },
        runCommand: (command, raw, key) => {
          const inline = inlineSecretsArgs(command);
          if (inline) {
            log?.(redactor.redact(`Running \`${raw.trim()}\` in-process for ${key} in ${file}`));
            return chomp(
              runInlineSecretsCommand(inline, {
                env: this.env,
                cwd: this.projectDir,
                runner: this.runner,
                redactor,
                adapters: this.options.adapters,
                log,
              }),
            );
          }
          log?.(redactor.redact(`Running \`${raw.trim()}\` for ${key} in ${file}`));
          const result = this.runner('/bin/sh', ['-c', command], { env: this.env, cwd: this.projectDir });
          if (result.status !== 0) {
            // Kamal ignores the status and stores whatever was printed; wharf does too, but refuses
            // to hand that value out (get) so a deploy never runs with a silently empty secret.
            failure = redactor.redact(
              `the command \`${raw.trim()}\` for ${key} in ${file} exited with status ${result.status}`,
            );
            log?.(`Warning: ${failure}`);
          }
          const output = chomp(result.stdout);
          redactor.add(output);
          return output;
        },
      },
      file,
    );
    return { values, failed };
  }

  get(name: string): string {
    const value = this.all().get(name);
    const failure = this.failed.get(name);
    if (failure !== undefined) {
      throw new UserError(
        `Secret '${name}' could not be read: ${failure}; fix the command (or end it with \`|| true\` if an empty value is fine).`,
      );
    }
    if (value !== undefined) return value;
    const existing = this.existingFiles();
    if (existing.length > 0) {
      throw new UserError(
        `Secret '${name}' not found in ${existing.join(', ')}; define ${name} in one of these files.`,
      );
    }
    throw new UserError(
      `Secret '${name}' not found, no secret files (${this.filenames.join(', ')}) provided; create one of them and define ${name} in it.`,
    );
  }

  has(name: string): boolean {
    const value = this.all().get(name);
    return value !== undefined && value.trim() !== '' && !this.failed.has(name);
  }

  failedNames(): string[] {
    this.all();
    return [...this.failed.keys()];
  }

  names(): string[] {
    return [...this.all().keys()];
  }

  toEnv(): Record<string, string> {
    return Object.fromEntries(this.all());
  }

  entries(): Array<[string, string]> {
    return [...this.all()];
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }
}

const INLINE = /^\s*(?:bundle\s+exec\s+|npx\s+)?(?:\S*\/)?(?:kamal|wharf)\s+secrets\s/;

/**
 * The arguments after `kamal`/`wharf` when a `$(…)` command is a
 * `kamal secrets …` or `wharf secrets …` call (also `bin/kamal`,
 * `bundle exec kamal`, `npx wharf`), which run in-process as in Kamal; else undefined.
 */
export function inlineSecretsArgs(command: string): string[] | undefined {
  if (!INLINE.test(command)) return undefined;
  let words: string[];
  try {
    words = shellSplit(command);
  } catch (error) {
    throw new UserError(
      `A \`kamal secrets\` command in a secrets file has unbalanced quotes (${(error as Error).message.replace(/ in a shell command$/, '')}); fix the quoting.`,
    );
  }
  if (words[0] === 'bundle' && words[1] === 'exec') words = words.slice(2);
  else if (words[0] === 'npx') words = words.slice(1);
  return words.slice(1);
}
