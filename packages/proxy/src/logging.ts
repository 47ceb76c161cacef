// JSON-lines logger in slog's shape ({"time","level","msg",...}). Lines are
// batched and written once per event-loop turn so the request path does not
// pay for a write(2) per request.

export type LogSink = (chunk: string) => void;
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export class Logger {
  private pending = '';
  private scheduled = false;
  readonly debugEnabled: boolean;
  private readonly sink: LogSink | null;

  constructor(sink: LogSink | null, debug = false) {
    this.sink = sink;
    this.debugEnabled = debug;
  }

  static stdout(debug = false): Logger {
    return new Logger((chunk) => process.stdout.write(chunk), debug);
  }

  static silent(): Logger {
    return new Logger(null);
  }

  get enabled(): boolean {
    return this.sink !== null;
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (this.sink === null) return;
    if (level === 'DEBUG' && !this.debugEnabled) return;
    let line = `{"time":"${isoNow()}","level":"${level}","msg":${JSON.stringify(msg)}`;
    if (fields) {
      for (const key of Object.keys(fields)) {
        const value = fields[key];
        if (value === undefined) continue;
        line += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
      }
    }
    this.raw(line + '}\n');
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('INFO', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('WARN', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('ERROR', msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('DEBUG', msg, fields);
  }

  /** Appends an already-formatted line (ending in \n) to the batch. */
  raw(line: string): void {
    if (this.sink === null) return;
    this.pending += line;
    if (this.pending.length > 65536) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private readonly flushBound = (): void => this.flush();

  flush(): void {
    this.scheduled = false;
    if (this.pending === '' || this.sink === null) return;
    const chunk = this.pending;
    this.pending = '';
    this.sink(chunk);
  }
}

let isoMs = 0;
let isoText = '';
let isoSecond = -1;
let isoPrefix = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => '.' + String(i).padStart(3, '0') + 'Z');
/**
 * The current time as an ISO-8601 string (UTC, milliseconds). The date and
 * time up to the second are formatted once per second; within it only the
 * milliseconds change.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    const second = Math.floor(now / 1000);
    if (second !== isoSecond) {
      isoSecond = second;
      isoPrefix = new Date(second * 1000).toISOString().slice(0, 19);
    }
    isoText = isoPrefix + MILLIS[now - second * 1000]!;
  }
  return isoText;
}

/** JSON string literal for a value known to be a string (fast path for plain ASCII). */
export function jsonString(value: string): string {
  // Most values (paths, hosts, ids) need no escaping; test cheaply first.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(value);
  }
  return '"' + value + '"';
}
