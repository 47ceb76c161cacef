// hello: the example app wharf's quick start deploys. Plain node:http, no
// dependencies. /up is the health check; every response says which version served it.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const version = process.env.KAMAL_VERSION ?? process.env.WHARF_VERSION ?? 'dev';
const host = process.env.KAMAL_HOST ?? 'localhost';
const started = Date.now();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/up') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  if (url.pathname === '/slow') {
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 2000), 30_000);
    return setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`slow ${ms} ms from ${version}\n`);
    }, ms);
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ app: 'hello', version, host, uptime_s: Math.round((Date.now() - started) / 1000) }) +
      '\n',
  );
});
server.keepAliveTimeout = 65_000;
server.listen(port, () => console.log(`hello ${version} listening on :${port}`));

// Finish in-flight requests on SIGTERM (docker stop), then exit.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
});
