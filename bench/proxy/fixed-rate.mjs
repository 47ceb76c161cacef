#!/usr/bin/env node
/**
 * Open-loop fixed-rate HTTP client (wrk has no fixed-rate mode): sends GET URL
 * at RATE requests/s over at most CONNECTIONS keep-alive connections for
 * SECONDS, and prints the load generator's JSON report (latency from each
 * request's scheduled time, so queueing shows).
 *
 *   node bench/proxy/fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]
 *
 * A warm-up at the same rate (default 2 s) runs first and is discarded, so JIT
 * compilation and connection setup do not count.
 *
 * Uses the compiled load generator: run `npx tsc -b packages/proxy` first.
 */
import { runLoad } from '../../packages/proxy/dist/test/support/load.js';

const [url, rate = '5000', seconds = '10', connections = '50', warmup = '2'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]\n');
  process.exit(2);
}
const options = {
  rate: Number(rate),
  maxSockets: Number(connections),
  idleSocketMs: 60_000,
  requests: [{ name: 'get', url, weight: 1, timeoutMs: 10_000 }],
};
if (Number(warmup) > 0) await runLoad(options, Number(warmup) * 1000);
const report = await runLoad(options, Number(seconds) * 1000);
process.stdout.write(`${JSON.stringify(report)}\n`);
