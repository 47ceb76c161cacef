/**
 * loadConfig: reads config/deploy.yml (or -c FILE) and the destination
 * overlay, renders ERB, parses YAML as Psych does, deep-merges the files the
 * way Kamal does, validates everything at once and returns the resolved Config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve, relative, isAbsolute } from 'node:path';
import { Config } from './config.js';
import { ErbError, renderErb } from './erb.js';
import { shellCommandRunner as runCommand } from './erb-commands.js';
import { ConfigError, sortProblems, type ConfigProblem, type KeyPath } from './problems.js';
import { checkSemantics } from './semantics.js';
import { checkExposure, strictFromConfig } from './exposure.js';
import { checkShape } from './shape-check.js';
import { gitInfo, resolveVersion, type GitInfo } from './version.js';
import { pathKey, readYaml, type YamlValue } from './yaml-reader.js';

export interface LoadOptions {
  /** Config file, default config/deploy.yml (relative to cwd). */
  configFile?: string;
  destination?: string;
  /** --version. */
  version?: string;
  cwd?: string;
  /** Environment seen by ERB and commands (default process.env); KAMAL_DESTINATION is set from destination. */
  env?: Record<string, string | undefined>;
  /** Architecture of the local Docker engine (default: this machine's). */
  localArch?: string;
  /** Timeout for each ERB command, ms (default 60 s). */
  commandTimeoutMs?: number;
  /** false refuses %x(...)/backtick commands in ERB (for linting untrusted files). Default true. */
  allowCommands?: boolean;
  /** --strict: refuse ports published on every interface (also `x-wharf: {strict: true}` in the config). */
  strict?: boolean;
}

/** A config file's text, already read (for editors, linters and tests). */
export interface ConfigSource {
  /** Path shown in messages, e.g. config/deploy.yml. */
  file: string;
  text: string;
}

interface LoadedFile {
  file: string;
  value: YamlValue;
  lines: Map<string, number>;
}

type Hash = { [key: string]: YamlValue };
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Kamal's deep_merge!: hashes merge recursively, everything else in `over` replaces. */
export function deepMergeConfig(base: YamlValue, over: YamlValue): YamlValue {
  if (!isHash(base) || !isHash(over)) return over;
  const out: Hash = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMergeConfig(out[k]!, v) : v;
  return out;
}

/** `config/deploy.yml` + `staging` → `config/deploy.staging.yml` (Pathname#sub_ext). */
export function destinationFile(configFile: string, destination: string): string {
  const ext = extname(configFile);
  const base = ext ? configFile.slice(0, -ext.length) : configFile;
  return `${base}.${destination}.yml`;
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function readText(path: string, shown: string, problems: ConfigProblem[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problems.push({
      path: [],
      file: shown,
      message:
        code === 'ENOENT'
          ? `Configuration file not found: ${shown} does not exist`
          : `${shown} cannot be read (${code ?? (error as Error).message})`,
      standalone: true,
    });
    return undefined;
  }
}

interface ParseContext {
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
  allowCommands: boolean;
  localArch?: string;
}

function parseConfigText(
  text: string,
  shown: string,
  pc: ParseContext,
  problems: ConfigProblem[],
  warnings: ConfigProblem[],
): LoadedFile | undefined {
  const { cwd, env, timeoutMs } = pc;
  let rendered: { text: string; lineMap?: number[] };
  try {
    rendered = renderErb(text, {
      env,
      runCommand: pc.allowCommands
        ? runCommand(cwd, env, timeoutMs)
        : () => {
            throw new Error('commands are not run in this mode');
          },
      readFile: (p) => readFileSync(resolve(cwd, p), 'utf8'),
      fileExists: (p) => existsSync(resolve(cwd, p)),
      ...(pc.localArch ? { dockerArch: () => pc.localArch! } : {}),
    });
  } catch (error) {
    if (error instanceof ErbError) {
      problems.push({
        path: [],
        file: shown,
        line: error.line,
        message: `ERB: ${error.message}`,
        standalone: true,
      });
      return undefined;
    }
    throw error;
  }
  const parsed = readYaml(rendered.text, rendered.lineMap);
  for (const w of parsed.warnings)
    warnings.push({ path: w.path ?? [], file: shown, line: w.line, message: w.message, standalone: true });
  if (parsed.errors.length > 0) {
    for (const e of parsed.errors)
      problems.push({ path: [], file: shown, line: e.line, message: e.message, standalone: true });
    return undefined;
  }
  if (parsed.value === null) {
    problems.push({
      path: [],
      file: shown,
      line: 1,
      message: `the file ${shown} is empty; it should be a YAML mapping of settings such as service, image and servers`,
      standalone: true,
    });
    return undefined;
  }
  if (!isHash(parsed.value)) {
    problems.push({
      path: [],
      file: shown,
      line: 1,
      message: `the file ${shown} should be a YAML mapping of settings (service:, image:, servers: ...), not ${Array.isArray(parsed.value) ? 'a list' : 'a single value'}`,
      standalone: true,
    });
    return undefined;
  }
  return { file: shown, value: parsed.value, lines: parsed.lines };
}

/** Finds the file and line a key path came from: the last file defining the path, else its nearest parent. */
function locate(files: LoadedFile[], path: KeyPath): { file?: string; line?: number } {
  for (let len = path.length; len >= 0; len--) {
    const key = pathKey(path.slice(0, len));
    for (let i = files.length - 1; i >= 0; i--) {
      const line = files[i]!.lines.get(key);
      if (line !== undefined) return { file: files[i]!.file, line };
    }
  }
  return { file: files[0]?.file };
}

/** Loads, merges and validates the config; throws ConfigError (a UserError) listing every problem. */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const configFile = options.configFile ?? 'config/deploy.yml';
  const destination =
    options.destination === undefined || options.destination === '' ? undefined : options.destination;
  const paths = [resolve(cwd, configFile)];
  if (destination !== undefined) paths.push(destinationFile(paths[0]!, destination));
  const problems: ConfigProblem[] = [];
  const sources: ConfigSource[] = [];
  for (const p of paths) {
    const shown = displayPath(p, cwd);
    const text = readText(p, shown, problems);
    if (text !== undefined) sources.push({ file: shown, text });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return loadConfigFromSources(sources, { ...options, cwd, destination });
}

/** Like loadConfig, from texts already read: the base file first, then the destination overlay. */
export function loadConfigFromSources(sources: ConfigSource[], options: LoadOptions = {}): Config {
  const cwd = resolve(options.cwd ?? process.cwd());
  const destination =
    options.destination === undefined || options.destination === '' ? undefined : options.destination;
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  if (destination !== undefined) env.KAMAL_DESTINATION = destination;
  else delete env.KAMAL_DESTINATION;
  const pc: ParseContext = {
    cwd,
    env,
    timeoutMs: options.commandTimeoutMs ?? 60_000,
    allowCommands: options.allowCommands !== false,
  };

  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const files: LoadedFile[] = [];
  for (const source of sources) {
    const loaded = parseConfigText(source.text, source.file, pc, problems, warnings);
    if (loaded) files.push(loaded);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const merged = files.reduce<YamlValue>((acc, f) => deepMergeConfig(acc, f.value), {});
  let git: GitInfo | undefined;
  const lazyGit = (): GitInfo => (git ??= gitInfo(cwd));
  const shapeProblems = checkShape(merged);
  const config: Config = new Config(merged, {
    destination,
    cwd,
    files: files.map((f) => f.file),
    git: lazyGit,
    localArch: options.localArch,
    warnings,
    version: (): string =>
      resolveVersion({
        declared: options.version,
        env,
        cwd,
        gitUsed: () => lazyGit().used,
        gitClone: () => config.builder.gitClone,
      }),
  });
  const semantic = checkSemantics(config);
  // A semantic problem at a path that already has a shape problem adds nothing.
  const shapePaths = new Set(shapeProblems.map((p) => pathKey(p.path)));
  const all = [...shapeProblems, ...semantic.errors.filter((p) => !shapePaths.has(pathKey(p.path)))];
  for (const w of semantic.warnings) warnings.push({ ...w, ...locate(files, w.path) });
  // wharf's exposure check (ports on every interface): warnings, or errors in strict mode.
  const strictness = strictFromConfig(config.raw);
  if (strictness.problem) all.push(strictness.problem);
  if (all.length === 0) {
    const exposure = checkExposure(config, Boolean(options.strict) || strictness.strict);
    for (const w of exposure.warnings) warnings.push({ ...w, ...locate(files, w.path) });
    all.push(...exposure.errors);
  }
  const sortedWarnings = sortProblems(
    warnings,
    files.map((f) => f.file),
  );
  warnings.splice(0, warnings.length, ...sortedWarnings);
  if (all.length > 0) {
    throw new ConfigError(
      sortProblems(
        all.map((p) => ({ ...p, ...locate(files, p.path) })),
        files.map((f) => f.file),
      ),
    );
  }
  return config;
}
