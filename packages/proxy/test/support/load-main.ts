/**
 * The load generator as a command, for runs by hand or from another process:
 *
 *   node load-main.js --base http://127.0.0.1:8080 [--rate 300] [--duration 30]
 *       [--slow-share 0.1] [--slow-ms 2000] [--sse-streams 2] [--ws-sockets 4]
 *       [--host app.example] [--insecure] [--json]
 *
 * With --base it uses the test app's routes (/, /slow, /sse, /ws). Prints the
 * report (JSON with --json) and exits 1 when anything failed.
 */
import { parseArgs } from 'node:util';
import { END_MARKER } from './app.js';
import { formatReport, runLoad, type LoadOptions } from './load.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rate: { type: 'string', default: '300' },
    duration: { type: 'string', default: '30' },
    'slow-share': { type: 'string', default: '0.1' },
    'slow-ms': { type: 'string', default: '2000' },
    'sse-streams': { type: 'string', default: '2' },
    'ws-sockets': { type: 'string', default: '4' },
    host: { type: 'string' },
    insecure: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

if (!values.base) {
  process.stderr.write('load: --base URL is required (e.g. --base http://127.0.0.1:8080).\n');
  process.exit(2);
}
const base = values.base.replace(/\/$/, '');
const wsBase = base.replace(/^http/, 'ws');
const headers = values.host ? { host: values.host } : undefined;
const slowShare = Number(values['slow-share']);
const sseStreams = Number(values['sse-streams']);
const wsSockets = Number(values['ws-sockets']);
const options: LoadOptions = {
  rate: Number(values.rate),
  insecure: values.insecure,
  requests: [
    {
      name: 'short',
      url: `${base}/`,
      weight: 1 - slowShare,
      endMarker: END_MARKER,
      ...(headers ? { headers } : {}),
    },
    ...(slowShare > 0
      ? [
          {
            name: 'slow',
            url: `${base}/slow?ms=${values['slow-ms']}`,
            weight: slowShare,
            endMarker: END_MARKER,
            ...(headers ? { headers } : {}),
          },
        ]
      : []),
  ],
  ...(sseStreams > 0 ? { sse: { url: `${base}/sse?count=20&interval=100`, streams: sseStreams } } : {}),
  ...(wsSockets > 0
    ? {
        websockets: {
          url: `${wsBase}/ws`,
          sockets: wsSockets,
          intervalMs: 50,
          insecure: values.insecure,
          ...(headers ? { headers } : {}),
        },
      }
    : {}),
};

const report = await runLoad(options, Number(values.duration) * 1000);
process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
process.exit(report.totalFailures === 0 ? 0 : 1);
