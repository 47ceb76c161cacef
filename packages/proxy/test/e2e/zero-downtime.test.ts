/**
 * Zero-downtime deploys, end to end on loopback (no Docker): wharf-proxy `run`
 * on free ports, two real app processes ("blue" and "green"), and an open-loop
 * load of at least 300 requests/s (short requests, 2-second requests, SSE
 * streams and WebSockets exchanging numbered messages) while 20 consecutive
 * `wharf-proxy deploy` commands swap the service between the two apps.
 *
 * Required: no failed request of any kind, every 2-second request completes,
 * every WebSocket cut by a deploy gets a 1001 close (not a reset) and no
 * message before it is lost, and traffic really moves between the versions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { END_MARKER, IDENTITY_HEADER } from '../support/app.js';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { formatReport, startLoad } from '../support/load.js';
import { percentilesOf } from '../support/load-stats.js';
import { startProxy, type ProxyProcess } from './support/proxy-process.js';

const DEPLOYS = 20;
const RATE = 300;
const WS_SOCKETS = 4;
const SSE_STREAMS = 2;
const SERVICE = 'web';
// The drain timeout must comfortably exceed the 2-second requests and 2-second SSE streams
// (a request cut at the deadline would be a failure the test itself caused), and bounds
// how long a deploy can wait for the old version's WebSockets to go.
const DEPLOY_FLAGS = ['--health-check-path', '/up', '--deploy-timeout', '10s', '--drain-timeout', '5s'];

// Deploys stop (and the test fails with the load report) when they have not finished by then.
const BUDGET_MS = 180_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function servedBy(proxy: ProxyProcess): Promise<string | null> {
  const res = await fetch(`${proxy.url}/`);
  await res.arrayBuffer();
  return res.headers.get(IDENTITY_HEADER);
}

test(`${DEPLOYS} consecutive deploys under ${RATE} req/s lose nothing`, { timeout: 360_000 }, async (t) => {
  const apps: AppProcess[] = [];
  let proxy: ProxyProcess | undefined;
  t.after(async () => {
    await proxy?.stop();
    await Promise.all(apps.map((a) => a.stop()));
  });
  apps.push(await startAppProcess({ identity: 'blue' }), await startAppProcess({ identity: 'green' }));
  const [blue, green] = apps as [AppProcess, AppProcess];
  proxy = await startProxy();
  await proxy.deploy(SERVICE, blue.target, DEPLOY_FLAGS);
  assert.equal(await servedBy(proxy), 'blue', 'the first deploy routes to blue');

  const base = proxy.url;
  const load = startLoad({
    rate: RATE,
    requests: [
      { name: 'short', url: `${base}/`, weight: 9, endMarker: END_MARKER },
      { name: 'slow', url: `${base}/slow?ms=2000`, weight: 1, endMarker: END_MARKER, timeoutMs: 30_000 },
    ],
    sse: { url: `${base}/sse?count=20&interval=100`, streams: SSE_STREAMS },
    websockets: { url: `${base.replace('http', 'ws')}/ws`, sockets: WS_SOCKETS, intervalMs: 50 },
  });

  const deployMs: number[] = [];
  let deployError: unknown;
  try {
    await sleep(1500); // every kind of traffic is flowing to blue before the first swap
    const budgetEnds = performance.now() + BUDGET_MS;
    for (let i = 1; i <= DEPLOYS; i++) {
      if (performance.now() > budgetEnds) {
        throw new Error(`only ${i - 1} of ${DEPLOYS} deploys finished within ${BUDGET_MS / 1000} s`);
      }
      const next = i % 2 === 1 ? green : blue;
      const result = await proxy.deploy(SERVICE, next.target, DEPLOY_FLAGS, 60_000);
      deployMs.push(result.ms);
      await sleep(200);
    }
    await sleep(1000);
  } catch (error) {
    deployError = error;
  }
  const report = await load.stop();
  // The proxy's log without its successful access lines: deploys, drains, errors, non-2xx requests.
  const proxyLog = proxy
    .output()
    .split('\n')
    .filter((line) => !(line.includes('"msg":"Request"') && /"status":2\d\d/.test(line)))
    .slice(-40)
    .join('\n');
  const summary = `${formatReport(report)}\nproxy log (tail, successful requests left out):\n${proxyLog}`;
  t.diagnostic(formatReport(report));
  const d = percentilesOf(deployMs);
  t.diagnostic(
    `deploy command: ${deployMs.length} runs, p50 ${Math.round(d.p50)} ms, max ${Math.round(d.max)} ms`,
  );
  if (deployError) {
    throw new Error(
      `${deployError instanceof Error ? deployError.message : String(deployError)}\n${summary}`,
    );
  }

  // Zero failures of any kind: connection, status, truncated, timeout, WebSocket or message.
  assert.equal(report.totalFailures, 0, summary);

  const short = report.requests.short!;
  const slow = report.requests.slow!;
  assert.ok(report.sentRate >= RATE * 0.95, `the load ran at ${report.sentRate}/s, below ${RATE}/s`);
  assert.ok(slow.sent >= DEPLOYS * 20, summary);
  assert.equal(slow.ok, slow.sent, `every 2-second request completes\n${summary}`);
  assert.equal(short.ok, short.sent, summary);

  // Traffic really moved: both versions served every kind of traffic, and the last deploy (to blue) holds.
  for (const kind of [short.servedBy, slow.servedBy, report.sse!.servedBy, report.websockets!.servedBy]) {
    assert.ok((kind.blue ?? 0) > 0 && (kind.green ?? 0) > 0, `both versions served: ${JSON.stringify(kind)}`);
  }
  assert.equal(await servedBy(proxy), 'blue');

  // SSE streams kept completing across the deploys.
  assert.ok(report.sse!.completed >= DEPLOYS, summary);
  assert.equal(report.sse!.events, report.sse!.completed * 20);

  // Each deploy cuts the old version's WebSockets, with 1001 only, and the client reconnects to the new one.
  const ws = report.websockets!;
  assert.deepEqual(Object.keys(ws.closeCodes), ['1001'], `close codes ${JSON.stringify(ws.closeCodes)}`);
  assert.ok(
    ws.goingAway >= DEPLOYS * WS_SOCKETS,
    `${ws.goingAway} WebSockets got 1001, expected ${DEPLOYS * WS_SOCKETS}`,
  );
  assert.ok(ws.messagesEchoed >= ws.messagesSent - ws.inFlightAtClose, summary);
  assert.equal(ws.connections, ws.goingAway + WS_SOCKETS);
});
