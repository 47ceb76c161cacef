/**
 * A problem the user can act on. Its message is one sentence that names the
 * file, key, host or container involved and says what to do; the CLI prints it
 * without a stack trace (unless --verbose) and exits non-zero.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** The first line of whatever a failed command printed, trimmed, for use inside a sentence. */
export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().replace(/\.$/, '');
}
