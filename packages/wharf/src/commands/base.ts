/**
 * Commands are data. A remote command is an array of shell words that are
 * already quoted the way Kamal quotes them (`--env KAMAL_VERSION="999"`,
 * `'name=^app-web-999$'`); shell operators (`|`, `&&`, `;`, `||`, `>>`,
 * `2>&1`) are words too. `commandLine` joins the words with single spaces:
 * that string is what runs on the host over SSH (in the SSH user's home
 * directory) and what logs show. Nothing in this folder performs I/O.
 *
 * The helpers here are Kamal's Commands::Base combinators: combine/chain/
 * pipe/any/append/write, `$(…)` substitution, xargs, `sh -c '…'` wrapping,
 * and the local `ssh -t … '…'` line used for interactive commands.
 */
import { dirname } from 'node:path/posix';
import { argumentize } from '../config/shell-args.js';
import type { Config } from '../config/index.js';

/** Shell words, already quoted; joined with single spaces to run. */
export type Command = string[];

/** A command whose environment carries values that must not be in the command line (sent on stdin by the SSH layer). */
export interface EnvCommand {
  command: Command;
  /** Variable name → value; values are secrets: never log them, never put them in argv. */
  env: Record<string, string>;
}

/** `docker inspect --format` template for a container's health (or state when it has no healthcheck). */
export const DOCKER_HEALTH_STATUS_FORMAT =
  "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'";
/** `docker inspect --format` template for a container's health log. */
export const DOCKER_HEALTH_LOG_FORMAT = "'{{json .State.Health}}'";
/** The network app containers, accessories and the proxy share. */
export const DOCKER_NETWORK = 'kamal';

/** The text that runs on the host (and that Kamal's tests compare). */
export function commandLine(command: Command): string {
  return command.join(' ');
}

type Part = Command | string | undefined | null | false;

function words(part: Exclude<Part, undefined | null | false>): Command {
  return typeof part === 'string' ? [part] : part;
}

/** Commands joined by an operator; missing parts are skipped (Kamal's `combine`). */
export function combine(parts: Part[], by = '&&'): Command {
  const present = parts.filter((p): p is Command | string => p !== undefined && p !== null && p !== false);
  const out: Command = [];
  present.forEach((p, i) => {
    if (i > 0) out.push(by);
    out.push(...words(p));
  });
  return out;
}

/** `a ; b` */
export function chain(...parts: Part[]): Command {
  return combine(parts, ';');
}
/** `a | b` */
export function pipe(...parts: Part[]): Command {
  return combine(parts, '|');
}
/** `a || b` */
export function any(...parts: Part[]): Command {
  return combine(parts, '||');
}
/** `a >> file` */
export function append(...parts: Part[]): Command {
  return combine(parts, '>>');
}
/** `a > file` */
export function write(...parts: Part[]): Command {
  return combine(parts, '>');
}

/** `$(command)` as one word. */
export function substitute(command: Command): string {
  return `$(${commandLine(command)})`;
}

/** `xargs <command>` */
export function xargs(command: Command): Command {
  return ['xargs', ...command];
}

/** Text inside single quotes: each `'` becomes `'\''`. */
export function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** Text inside double quotes with `"`, `\`, `$` and backticks escaped. */
export function doubleQuoted(text: string): string {
  return `"${text.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** `sh -c '<command>'`: the command as one single-quoted word (Kamal's `shell`). */
export function shell(command: Command): Command {
  return ['sh', '-c', singleQuoted(commandLine(command))];
}

/** `docker <args>` (missing args skipped). */
export function docker(...args: (string | undefined | null | false)[]): Command {
  return ['docker', ...args.filter((a): a is string => typeof a === 'string')];
}

/** `mkdir -p <path>` */
export function makeDirectory(path: string): Command {
  return ['mkdir', '-p', path];
}

/** `mkdir -p <dirname of file>` */
export function makeDirectoryFor(remoteFile: string): Command {
  return makeDirectory(dirname(remoteFile));
}

/** `rm -r <path>` */
export function removeDirectory(path: string): Command {
  return ['rm', '-r', path];
}

/** `rm <path>` */
export function removeFile(path: string): Command {
  return ['rm', path];
}

/** `docker container ls [--all] --filter 'name=^<name>$' --quiet`: the id of a container with exactly that name. */
export function containerIdFor(containerName: string, options: { onlyRunning?: boolean } = {}): Command {
  return docker(
    'container',
    'ls',
    options.onlyRunning ? undefined : '--all',
    '--filter',
    `'name=^${containerName}$'`,
    '--quiet',
  );
}

/** `--filter k=v` pairs for a list of filters. */
export function filterArgs(filters: string[]): Command {
  return argumentize('--filter', filters);
}

/** `-it` when stdin is a terminal, else `-i` (Kamal looks at STDIN.isatty; callers pass it in). */
export function dockerInteractiveArgs(stdinIsTty: boolean): string {
  return stdinIsTty ? '-it' : '-i';
}

/**
 * The local command line that runs `command` on `host` through the OpenSSH
 * client with a terminal: `ssh [-F cfg] [-J jump | -o ProxyCommand='…'] [-i key]
 * [-o IdentitiesOnly=yes] -t user@host -p port '<command>'` (Kamal's run_over_ssh).
 */
export function runOverSsh(config: Config, command: Command | string, host: string): Command {
  const ssh = config.ssh;
  const out: Command = ['ssh'];
  const cfg = ssh.config;
  if (Array.isArray(cfg)) for (const file of cfg) out.push('-F', file);
  else if (typeof cfg === 'string') out.push('-F', cfg);
  else if (cfg === false) out.push('-F', '/dev/null');
  if (ssh.proxy !== undefined) out.push('-J', ssh.proxy);
  else if (ssh.proxyCommand !== undefined) out.push('-o', `ProxyCommand='${ssh.proxyCommand}'`);
  for (const key of ssh.keys ?? []) out.push('-i', key);
  if (ssh.keysOnly) out.push('-o', 'IdentitiesOnly=yes');
  out.push('-t', `${ssh.user}@${host}`, '-p', String(ssh.port));
  out.push(singleQuoted(typeof command === 'string' ? command : commandLine(command)));
  return out;
}

/** Ruby's Time#utc.iso8601: `2026-11-26T23:04:16Z` (whole seconds). */
export function iso8601(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
