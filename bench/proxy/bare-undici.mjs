#!/usr/bin/env node
/**
 * The floor for the A/B bench (ab.mjs --script bare=bench/proxy/bare-undici.mjs):
 * node:http server + undici Pool.stream() into the response, hop-by-hop
 * headers dropped, X-Forwarded-For added, nothing else (no routing, logging,
 * timeouts). As proxy (b) of /work/shared/reference/proxy-baseline.md.
 *
 *   node bench/proxy/bare-undici.mjs PORT BACKEND_PORT
 */
import http from 'node:http';
import { Pool } from 'undici';

const [port, backendPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${backendPort}`, { connections: 256, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

http
  .createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers['x-forwarded-for'] = req.socket.remoteAddress;
    pool.stream(
      {
        path: req.url,
        method: req.method,
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      },
      ({ statusCode, headers: h }) => {
        for (const k of HOP) delete h[k];
        res.writeHead(statusCode, h);
        return res;
      },
      (err) => {
        if (err) {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        }
      },
    );
  })
  .listen(port, '127.0.0.1');
