#!/usr/bin/env node
/**
 * Open-loop fixed-rate HTTP client (wrk has no fixed-rate mode): sends GET URL
 * at RATE requests/s over at most CONNECTIONS keep-alive connections (an
 * undici Pool, lighter than node:http so the client is not the bottleneck) for
 * SECONDS, and prints a JSON summary. Latency runs from each request's
 * scheduled time, so queueing anywhere (client included) shows.
 *
 *   node bench/proxy/fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]
 *
 * A warm-up at the same rate (default 2 s) runs first and is discarded.
 */
import { Pool } from 'undici';
import { percentilesOf } from '../../packages/proxy/dist/test/support/load-stats.js';

const [url, rate = '5000', seconds = '10', connections = '50', warmup = '2'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]\n');
  process.exit(2);
}
const target = new URL(url);
const pool = new Pool(target.origin, {
  connections: Number(connections),
  pipelining: 1,
  keepAliveTimeout: 60_000,
});

async function run(durationMs) {
  const interval = 1000 / Number(rate);
  const latencies = [];
  const lags = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const inflight = new Set();
  const start = performance.now();
  const fire = (scheduledAt) => {
    lags.push(performance.now() - scheduledAt);
    const p = pool
      .request({
        path: target.pathname + target.search,
        method: 'GET',
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok += 1;
          latencies.push(performance.now() - scheduledAt);
        } else failed += 1;
      })
      .catch(() => {
        failed += 1;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now - start >= durationMs) return resolve();
      const due = Math.floor((now - start) / interval);
      while (sent < due) fire(start + sent++ * interval);
      setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = performance.now() - start;
  await Promise.all(inflight);
  return {
    sentRate: Math.round((sent / elapsed) * 1000),
    ok,
    failed,
    latencyMs: percentilesOf(latencies),
    lagMs: percentilesOf(lags),
  };
}

if (Number(warmup) > 0) await run(Number(warmup) * 1000);
const result = await run(Number(seconds) * 1000);
await pool.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
