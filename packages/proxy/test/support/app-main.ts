/**
 * Runs the test app (./app.ts) as its own process:
 *   node app-main.js --identity blue [--port 0] [--host 127.0.0.1] [--unhealthy]
 * Prints one JSON line {"identity","port","pid"} on stdout once it listens.
 * SIGTERM/SIGINT close it gracefully (WebSockets get 1001).
 */
import { createApp } from './app.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const identity = option('identity') ?? process.env.APP_IDENTITY ?? 'app';
const port = Number(option('port') ?? process.env.PORT ?? 0);
const host = option('host') ?? '127.0.0.1';
const app = createApp({ identity, healthy: !process.argv.includes('--unhealthy') });

app.listen(port, host).then(
  (bound) => {
    process.stdout.write(`${JSON.stringify({ identity, port: bound, pid: process.pid })}\n`);
  },
  (error: Error) => {
    process.stderr.write(`test app ${identity} cannot listen on ${host}:${port}: ${error.message}\n`);
    process.exit(1);
  },
);

const shutdown = () => {
  app.close().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
