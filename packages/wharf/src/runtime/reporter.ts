/**
 * Progress a person can follow, and an event stream tools can read.
 *
 * - default: one line per host and step as it finishes, with its elapsed time;
 *   a header per phase; warnings and the final summary.
 * - quiet (-q): only warnings, errors and results.
 * - verbose (-v): also every remote command (already redacted by the SSH layer).
 * - json (--json): one JSON object per line on stdout, nothing else there.
 *
 * Progress goes to stderr (stdout stays for results and --json events).
 */
export type ReporterMode = 'normal' | 'quiet' | 'verbose' | 'json';

export interface ReporterEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

export interface PhaseTiming {
  name: string;
  seconds: number;
}

/** Streams whose reader went away (EPIPE): later writes are dropped, not thrown. */
const readerGone = new WeakSet<NodeJS.WritableStream>();
const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A reader that goes away (`wharf deploy --json | head -1`) must not crash a
 * running deploy and leave its lock behind: an EPIPE on a progress stream
 * stops output to it; the command itself carries on and exits as it would.
 */
function guardReaderGone(stream: NodeJS.WritableStream): NodeJS.WritableStream {
  if (guarded.has(stream)) return stream;
  guarded.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') readerGone.add(stream);
    else throw error;
  });
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) =>
    readerGone.has(stream) ? true : write(...args)) as typeof stream.write;
  return stream;
}

export class Reporter {
  readonly mode: ReporterMode;
  private readonly started = Date.now();
  private readonly phases: PhaseTiming[] = [];
  private readonly err: NodeJS.WritableStream;
  private readonly out: NodeJS.WritableStream;

  constructor(
    mode: ReporterMode,
    streams: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream } = {},
  ) {
    this.mode = mode;
    this.out = guardReaderGone(streams.out ?? process.stdout);
    this.err = guardReaderGone(streams.err ?? process.stderr);
  }

  get verbose(): boolean {
    return this.mode === 'verbose';
  }

  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  emit(event: string, fields: Record<string, unknown> = {}): void {
    if (this.mode !== 'json') return;
    const record: ReporterEvent = { event, t: Number(this.elapsed().toFixed(3)), ...fields };
    this.out.write(`${JSON.stringify(record)}\n`);
  }

  private line(text: string): void {
    if (this.mode === 'normal' || this.mode === 'verbose') this.err.write(`${text}\n`);
  }

  /** A named phase (Build, Deploy, Prune…); returns a function that ends it and records its time. */
  phase(name: string): () => void {
    const t0 = Date.now();
    this.line(`▸ ${name}`);
    this.emit('phase_start', { phase: name });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const seconds = (Date.now() - t0) / 1000;
      this.phases.push({ name, seconds });
      this.emit('phase_end', { phase: name, seconds });
    };
  }

  /** Runs one step on one host (or locally when host is undefined), reporting its end and time. */
  async step<T>(host: string | undefined, text: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    this.emit('step_start', { host: host ?? null, step: text });
    if (this.mode === 'verbose') this.line(`  … ${host ? `${host}  ` : ''}${text}`);
    try {
      const result = await fn();
      const seconds = (Date.now() - t0) / 1000;
      this.line(`  ✓ ${host ? `${host}  ` : ''}${text} (${seconds.toFixed(2)} s)`);
      this.emit('step_end', { host: host ?? null, step: text, seconds, ok: true });
      return result;
    } catch (error) {
      const seconds = (Date.now() - t0) / 1000;
      this.line(`  ✗ ${host ? `${host}  ` : ''}${text} (${seconds.toFixed(2)} s)`);
      this.emit('step_end', {
        host: host ?? null,
        step: text,
        seconds,
        ok: false,
        error: (error as Error).message,
      });
      throw error;
    }
  }

  info(text: string): void {
    this.line(text);
    this.emit('info', { message: text });
  }

  /** Shown even with -q (on stderr). */
  warn(text: string): void {
    if (this.mode === 'json') this.emit('warning', { message: text });
    else this.err.write(`wharf: warning: ${text}\n`);
  }

  /**
   * A remote command as run (-v only); the SSH layer has redacted it. `id`
   * names its round trip (commands sent as one batch share it), which the
   * `command_end` event of the same id closes.
   */
  command(host: string, text: string, id?: number): void {
    if (this.mode === 'verbose') this.err.write(`    $ [${host}] ${text}\n`);
    this.emit('command', { host, command: text, ...(id !== undefined ? { id } : {}) });
  }

  /** The result of a command for a person (stdout); in json mode an event instead. */
  result(text: string, fields: Record<string, unknown> = {}): void {
    if (this.mode === 'json') this.emit('result', { text, ...fields });
    else this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  phaseTimings(): PhaseTiming[] {
    return [...this.phases];
  }
}

export function reporterMode(flags: { quiet?: boolean; verbose?: boolean; json?: boolean }): ReporterMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  if (flags.verbose) return 'verbose';
  return 'normal';
}
