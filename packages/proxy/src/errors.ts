/**
 * A problem the operator can act on. The message is one sentence that names
 * the service, host, target or file involved and says what to do; the CLI
 * prints it as `Error: <message>` without a stack trace and exits 1.
 */
export class ProxyError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isProxyError(error: unknown): error is ProxyError {
  return error instanceof ProxyError;
}

/** A short description of any thrown value, for logs and RPC errors. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
