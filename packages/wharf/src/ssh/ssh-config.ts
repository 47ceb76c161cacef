/**
 * The part of OpenSSH's client configuration (ssh_config(5)) that decides
 * where and how wharf connects: HostName, User, Port, IdentityFile,
 * IdentitiesOnly, ProxyJump, ProxyCommand, UserKnownHostsFile,
 * ConnectTimeout, ServerAliveInterval. `Host` blocks, `Match all`/`Match
 * host`, and `Include` are understood; other `Match` criteria never match.
 * As in OpenSSH, the first value obtained for a keyword wins (IdentityFile
 * accumulates).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { patternListMatches, wildcardMatch } from './known-hosts.js';

export interface SshConfigLine {
  keyword: string;
  args: string[];
  /** The value as written (for ProxyCommand, which is shell text). */
  raw: string;
  file: string;
  line: number;
}

interface Block {
  /** undefined = applies to every host (before the first Host/Match). */
  condition: ((host: string) => boolean) | undefined;
  lines: SshConfigLine[];
}

export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  proxyCommand?: string;
  userKnownHostsFiles?: string[];
  connectTimeoutSeconds?: number;
  serverAliveIntervalSeconds?: number;
  /** StrictHostKeyChecking: yes (refuse unknown), accept-new (record unknown), no (check nothing). */
  strictHostKeyChecking?: 'yes' | 'accept-new' | 'no';
}

/** Splits one config line into keyword and arguments (handles `Key=Value` and double quotes). */
export function splitConfigLine(text: string): { keyword: string; args: string[]; raw: string } | undefined {
  const line = text.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
  if (!m) return { keyword: line.toLowerCase(), args: [], raw: '' };
  const args: string[] = [];
  const rest = m[2]!;
  const re = /"([^"]*)"|(\S+)/g;
  let t: RegExpExecArray | null;
  while ((t = re.exec(rest)) !== null) {
    const word = t[1] ?? t[2]!;
    if (t[2]?.startsWith('#')) break;
    args.push(word);
  }
  return { keyword: m[1]!.toLowerCase(), args, raw: rest.trim() };
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

function readIncluded(pattern: string, home: string, depth: number, into: Block[], current: Block): Block {
  const full = expandHome(pattern, home);
  const path = isAbsolute(full) ? full : join(home, '.ssh', full);
  const dir = dirname(path);
  const base = basename(path);
  let files: string[] = [];
  if (/[*?]/.test(base)) {
    try {
      files = readdirSync(dir)
        .filter((f) => wildcardMatch(base, f))
        .sort()
        .map((f) => join(dir, f));
    } catch {
      files = [];
    }
  } else {
    files = [path];
  }
  let block = current;
  for (const file of files) block = parseInto(file, home, depth + 1, into, block);
  return block;
}

function parseInto(file: string, home: string, depth: number, blocks: Block[], start: Block): Block {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return start;
  }
  return parseTextInto(text, file, home, depth, blocks, start);
}

function parseTextInto(
  text: string,
  file: string,
  home: string,
  depth: number,
  blocks: Block[],
  start: Block,
): Block {
  let block = start;
  text.split(/\r?\n/).forEach((raw, index) => {
    const parsed = splitConfigLine(raw);
    if (!parsed) return;
    const { keyword, args, raw: value } = parsed;
    if (keyword === 'host') {
      const list = args.join(',');
      block = { condition: (host) => patternListMatches(list, host), lines: [] };
      blocks.push(block);
    } else if (keyword === 'match') {
      block = { condition: matchCondition(args), lines: [] };
      blocks.push(block);
    } else if (keyword === 'include') {
      if (depth < 16) for (const pattern of args) block = readIncluded(pattern, home, depth, blocks, block);
    } else {
      block.lines.push({ keyword, args, raw: value, file, line: index + 1 });
    }
  });
  return block;
}

function matchCondition(args: string[]): (host: string) => boolean {
  const lowered = args.map((a) => a.toLowerCase());
  if (lowered.length === 1 && lowered[0] === 'all') return () => true;
  if (lowered.length === 2 && (lowered[0] === 'host' || lowered[0] === 'originalhost')) {
    const list = args[1]!;
    return (host) => patternListMatches(list, host);
  }
  return () => false;
}

export class SshConfig {
  private readonly blocks: Block[];
  private readonly home: string;

  private constructor(blocks: Block[], home: string) {
    this.blocks = blocks;
    this.home = home;
  }

  /** Reads the given files in order (missing ones are skipped). */
  static load(files: readonly string[], home: string = homedir()): SshConfig {
    const blocks: Block[] = [];
    for (const file of files) {
      const start: Block = { condition: undefined, lines: [] };
      blocks.push(start);
      parseInto(expandHome(file, home), home, 0, blocks, start);
    }
    return new SshConfig(blocks, home);
  }

  static parse(text: string, file = 'ssh_config', home: string = homedir()): SshConfig {
    const blocks: Block[] = [];
    const start: Block = { condition: undefined, lines: [] };
    blocks.push(start);
    parseTextInto(text, file, home, 0, blocks, start);
    return new SshConfig(blocks, home);
  }

  static empty(): SshConfig {
    return new SshConfig([], homedir());
  }

  /** The settings that apply to `host` (the name given to wharf, before HostName). */
  resolve(host: string): SshHostConfig {
    const first = new Map<string, string[]>();
    const firstRaw = new Map<string, string>();
    const identityFiles: string[] = [];
    const knownHosts: string[] = [];
    for (const block of this.blocks) {
      if (block.condition && !block.condition(host)) continue;
      for (const line of block.lines) {
        if (line.keyword === 'identityfile') {
          if (line.args[0]) identityFiles.push(line.args[0]);
        } else if (!first.has(line.keyword)) {
          first.set(line.keyword, line.args);
          firstRaw.set(line.keyword, line.raw);
        }
      }
    }
    const one = (k: string): string | undefined => first.get(k)?.[0];
    const hostName = one('hostname') ? expandTokens(one('hostname')!, { h: host }) : undefined;
    const effectiveHost = hostName ?? host;
    const user = one('user');
    const portText = one('port');
    const port = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : undefined;
    const tokens = {
      h: effectiveHost,
      n: host,
      ...(user ? { r: user } : {}),
      ...(port ? { p: String(port) } : {}),
      d: this.home,
      u: localUser(),
    };
    for (const f of first.get('userknownhostsfile') ?? []) {
      if (f.toLowerCase() !== 'none') knownHosts.push(expandHome(expandTokens(f, tokens), this.home));
    }
    const proxyJump = one('proxyjump');
    const proxyCommand = firstRaw.get('proxycommand');
    const identitiesOnly = one('identitiesonly');
    const strict = one('stricthostkeychecking')?.toLowerCase();
    const connectTimeout = one('connecttimeout');
    const serverAlive = one('serveraliveinterval');
    const result: SshHostConfig = {
      identityFiles: identityFiles.map((f) => expandHome(expandTokens(f, tokens), this.home)),
    };
    if (hostName !== undefined) result.hostName = hostName;
    if (user !== undefined) result.user = user;
    if (port !== undefined) result.port = port;
    if (identitiesOnly !== undefined) result.identitiesOnly = identitiesOnly.toLowerCase() === 'yes';
    if (strict === 'yes' || strict === 'ask') result.strictHostKeyChecking = 'yes';
    else if (strict === 'accept-new') result.strictHostKeyChecking = 'accept-new';
    else if (strict === 'no' || strict === 'off') result.strictHostKeyChecking = 'no';
    if (proxyJump !== undefined && proxyJump.toLowerCase() !== 'none') result.proxyJump = proxyJump;
    if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none')
      result.proxyCommand = proxyCommand;
    if (knownHosts.length > 0) result.userKnownHostsFiles = knownHosts;
    if (connectTimeout !== undefined && /^\d+$/.test(connectTimeout))
      result.connectTimeoutSeconds = Number(connectTimeout);
    if (serverAlive !== undefined && /^\d+$/.test(serverAlive))
      result.serverAliveIntervalSeconds = Number(serverAlive);
    return result;
  }
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/** Replaces OpenSSH `%` tokens (`%h`, `%p`, `%r`, `%n`, `%d`, `%u`, `%%`); unknown tokens stay as they are. */
export function expandTokens(text: string, tokens: Readonly<Record<string, string>>): string {
  return text.replace(/%(.)/g, (whole, letter: string) => {
    if (letter === '%') return '%';
    return tokens[letter] ?? whole;
  });
}

/** The files `ssh.config: true` means: the user's and the system's. */
export function defaultSshConfigFiles(home: string = homedir()): string[] {
  return [join(home, '.ssh/config'), '/etc/ssh/ssh_config'];
}
