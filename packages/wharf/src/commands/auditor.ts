/**
 * The audit log (Kamal's Commands::Auditor): every host touched gets a line
 * appended to `.kamal/<service>[-<destination>]-audit.log`:
 * `[<recorded_at>] [<performer>] [<destination>] [<role>…] <message>`.
 */
import type { Config } from '../config/index.js';
import { escapeShellValue } from '../config/shell-args.js';
import { append, combine, type Command } from './base.js';
import { Tags, type Stamp, type TagValue } from './tags.js';

export class Auditor {
  constructor(
    readonly config: Config,
    readonly stamp: Stamp,
    /** Details on every line of this auditor (e.g. `{ role: 'web' }`). */
    readonly details: Record<string, TagValue> = {},
  ) {}

  /** `.kamal/<service>[-<destination>]-audit.log` */
  get auditLogFile(): string {
    return this.config.auditLogFile;
  }

  /** The line as written to the log. */
  auditLine(line: string, details: Record<string, TagValue> = {}): string {
    const tags = Tags.fromConfig(this.config, this.stamp, { ...this.details, ...details }).except(
      'version',
      'service_version',
      'service',
    );
    return `${tags.toString()} ${line}`;
  }

  /** `mkdir -p .kamal && echo "<line>" >> .kamal/<app>-audit.log` */
  record(line: string, details: Record<string, TagValue> = {}): Command {
    return combine([
      ['mkdir', '-p', this.config.runDirectory],
      append(['echo', escapeShellValue(this.auditLine(line, details))], this.auditLogFile),
    ]);
  }

  /** `tail -n 50 <audit log>` */
  reveal(): Command {
    return ['tail', '-n', '50', this.auditLogFile];
  }
}
