/**
 * Host key verification for wharf's SSH connections: the user's OpenSSH
 * known_hosts files are read, and wharf keeps its own known_hosts where it
 * records hosts seen for the first time (trust on first use). A key that
 * differs from a recorded one is refused.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.js';
import { wharfHome } from '../util/paths.js';
import {
  blobKeyType,
  checkHostKey,
  hostKeyAlgorithmsFor,
  keyFingerprint,
  knownHostName,
  knownHostsLine,
  parseKnownHosts,
  type KnownHostEntry,
} from './known-hosts.js';

/** `tofu`: record unknown hosts; `strict`: refuse unknown hosts; both refuse a changed key. */
export type HostKeyPolicy = 'tofu' | 'strict';

export interface HostKeyStoreOptions {
  /** OpenSSH files to read (missing ones are fine). Default: defaultKnownHostsFiles(). */
  files?: string[];
  /** wharf's own known_hosts, read and appended to. Default: $WHARF_HOME/known_hosts. */
  recordFile?: string;
  policy?: HostKeyPolicy;
}

/** The files OpenSSH reads by default. */
export function defaultKnownHostsFiles(home: string = homedir()): string[] {
  return [
    join(home, '.ssh/known_hosts'),
    join(home, '.ssh/known_hosts2'),
    '/etc/ssh/ssh_known_hosts',
    '/etc/ssh/ssh_known_hosts2',
  ];
}

export function defaultRecordFile(): string {
  return join(wharfHome(), 'known_hosts');
}

/** Thrown when a server's key does not match the recorded one (or is revoked, or unknown under `strict`). */
export class HostKeyError extends UserError {
  readonly host: string;
  readonly fingerprint: string;
  /** The known_hosts name (`host` or `[host]:port`). */
  readonly knownName: string;
  /** The sentence after "Refusing to connect to NAME: ", so callers can add the step. */
  readonly detail: string;
  constructor(knownName: string, detail: string, host: string, fingerprint: string) {
    super(`Refusing to connect to ${knownName}: ${detail}`);
    this.name = 'HostKeyError';
    this.host = host;
    this.fingerprint = fingerprint;
    this.knownName = knownName;
    this.detail = detail;
  }
}

export class HostKeyStore {
  readonly files: string[];
  readonly recordFile: string;
  readonly policy: HostKeyPolicy;
  private readonly cache = new Map<string, Promise<KnownHostEntry[]>>();
  private writes: Promise<void> = Promise.resolve();

  constructor(options: HostKeyStoreOptions = {}) {
    this.files = options.files ?? defaultKnownHostsFiles();
    this.recordFile = options.recordFile ?? defaultRecordFile();
    this.policy = options.policy ?? 'tofu';
  }

  private readFileEntries(file: string): Promise<KnownHostEntry[]> {
    let entries = this.cache.get(file);
    if (!entries) {
      entries = readFile(file, 'utf8').then(
        (text) => parseKnownHosts(text, file),
        () => [],
      );
      this.cache.set(file, entries);
    }
    return entries;
  }

  /**
   * Every entry of the OpenSSH files, `extraFiles` (UserKnownHostsFile from
   * the ssh config) and the record file, each read once.
   */
  async load(extraFiles: readonly string[] = []): Promise<KnownHostEntry[]> {
    const files = [...new Set([...this.files, ...extraFiles, this.recordFile])];
    return (await Promise.all(files.map((f) => this.readFileEntries(f)))).flat();
  }

  /** Host key algorithms to offer for host:port, recorded types first. */
  async algorithmsFor(host: string, port: number, extraFiles: readonly string[] = []): Promise<string[]> {
    return hostKeyAlgorithmsFor(await this.load(extraFiles), host, port);
  }

  /**
   * Accepts the key or throws HostKeyError. An unknown host under `tofu` is
   * appended to the record file before this resolves.
   */
  async verify(
    host: string,
    port: number,
    blob: Buffer,
    extraFiles: readonly string[] = [],
    checking?: 'yes' | 'accept-new' | 'no',
  ): Promise<'known' | 'recorded' | 'unchecked'> {
    // StrictHostKeyChecking no for this host in the user's ssh config: as OpenSSH (and Net::SSH) do, accept.
    if (checking === 'no') return 'unchecked';
    const entries = await this.load(extraFiles);
    const verdict = checkHostKey(entries, host, port, blob);
    const fingerprint = keyFingerprint(blob);
    const shown = `${blobKeyType(blob)} ${fingerprint}`;
    const name = knownHostName(host, port);
    switch (verdict.status) {
      case 'known':
        return 'known';
      case 'revoked':
        throw new HostKeyError(
          name,
          `its host key (${shown}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; give the server a new host key.`,
          host,
          fingerprint,
        );
      case 'mismatch':
        throw new HostKeyError(
          name,
          `it presented host key ${shown}, which does not match the key recorded in ${verdict.entry.file}:${verdict.entry.line}; if the server was rebuilt, delete that line (ssh-keygen -R ${shellSafe(name)} -f ${verdict.entry.file}) and run again, otherwise someone may be intercepting the connection.`,
          host,
          fingerprint,
        );
      case 'unknown':
        if (checking === 'yes' || (checking === undefined && this.policy === 'strict')) {
          throw new HostKeyError(
            name,
            `its host key (${shown}) is not in any known_hosts file; check the fingerprint on the server and add it with ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${shellSafe(host)} >> ${this.recordFile}.`,
            host,
            fingerprint,
          );
        }
        await this.record(host, port, blob);
        return 'recorded';
    }
  }

  private async record(host: string, port: number, blob: Buffer): Promise<void> {
    const line = knownHostsLine(host, port, blob);
    const write = this.writes.then(async () => {
      // Another connection in this process may have recorded it meanwhile.
      if (checkHostKey(await this.readFileEntries(this.recordFile), host, port, blob).status === 'known')
        return;
      await mkdir(dirname(this.recordFile), { recursive: true, mode: 0o700 });
      await appendFile(this.recordFile, `${line}\n`, { mode: 0o600 });
      this.cache.delete(this.recordFile);
      await this.readFileEntries(this.recordFile);
    });
    this.writes = write.catch(() => undefined);
    await write;
  }

  /** Forgets what was read, so the next verify reads the files again. */
  reload(): void {
    this.cache.clear();
  }
}

function shellSafe(text: string): string {
  return /^[A-Za-z0-9_.:@%+=,/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
