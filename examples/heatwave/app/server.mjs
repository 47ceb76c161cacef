// heatwave web role: a small HTTP app behind wharf-proxy that uses the whole
// stack: PostgreSQL through HAProxy → pgbouncer, the three Valkeys by role
// (cache, sessions, queue) and, through the worker, the SMTP sink.
//
//   GET  /up                 200 when PostgreSQL answers through HAProxy (the proxy's health check)
//   GET  /                   who served: version, revision, host, environment
//   POST /visits             writes a row to PostgreSQL; {id, total}
//   GET  /cache/:key         valkey-cache read-through (miss → computed from PostgreSQL, kept 30 s)
//   POST /sessions           a session in valkey-sessions; sets the heatwave_session cookie
//   GET  /sessions/me        the session named by the cookie
//   POST /jobs?to=ADDRESS    records a mail job in PostgreSQL and enqueues it on valkey-queue; {id}
//   GET  /jobs/:id           the job's row (sent_at, sent_by once the worker sent it)
//   GET  /jobs               queue length, in-flight jobs, quiet flag, sent/total counts
//   GET  /valkeys            each Valkey's role, maxmemory-policy and appendonly setting
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { PgPool, sql } from './lib/pg.mjs';
import { RespClient } from './lib/resp.mjs';
import { migrate } from './lib/schema.mjs';
import { HEARTBEAT_PREFIX, PROCESSING_PREFIX, QUEUE, QUIET_KEY, settings } from './lib/settings.mjs';

const config = settings();
const db = new PgPool({ ...config.database, applicationName: `heatwave-web@${config.container}` });
const valkeys = {
  cache: new RespClient(config.redis.cache),
  sessions: new RespClient(config.redis.sessions),
  queue: new RespClient(config.redis.queue),
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const q = (text) => withTimeout(db.query(text), 5000, 'PostgreSQL');
const r = (role, ...args) => withTimeout(valkeys[role].command(...args), 5000, `valkey-${role}`);

let migrated;
function ensureSchema() {
  migrated ??= migrate(db).catch((error) => {
    migrated = undefined;
    throw error;
  });
  return migrated;
}

function send(res, status, body, headers = {}) {
  const json = typeof body !== 'string';
  res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain', ...headers });
  res.end(json ? `${JSON.stringify(body)}\n` : body);
}

function cookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === '/up') {
    try {
      await withTimeout(db.query('SELECT 1 AS ok'), 2000, 'PostgreSQL');
      return send(res, 200, 'ok\n');
    } catch (error) {
      return send(res, 503, `database unavailable: ${error.message}\n`);
    }
  }
  if (path === '/' && method === 'GET') {
    return send(res, 200, {
      app: 'heatwave',
      role: 'web',
      version: config.version,
      revision: config.revision,
      environment: config.environment,
      host: config.host,
      container: config.container,
    });
  }

  await ensureSchema();

  if (path === '/visits' && method === 'POST') {
    const { rows } = await q(
      sql`INSERT INTO visits (path, served_by, version) VALUES (${url.searchParams.get('path') ?? '/'}, ${config.container}, ${config.version}) RETURNING id, (SELECT count(*) FROM visits) + 1 AS total`,
    );
    return send(res, 201, rows[0]);
  }
  const cacheKey = /^\/cache\/([\w.-]+)$/.exec(path);
  if (cacheKey && method === 'GET') {
    const key = `heatwave:cache:${cacheKey[1]}`;
    const cached = await r('cache', 'GET', key);
    if (cached !== null) return send(res, 200, { key: cacheKey[1], hit: true, value: JSON.parse(cached) });
    const { rows } = await q('SELECT count(*)::int AS visits, max(id) AS last_id FROM visits');
    await r('cache', 'SET', key, JSON.stringify(rows[0]), 'EX', 30);
    return send(res, 200, { key: cacheKey[1], hit: false, value: rows[0] });
  }
  if (path === '/sessions' && method === 'POST') {
    const id = randomUUID();
    const data = { id, created_at: new Date().toISOString(), created_by: config.container };
    await r('sessions', 'SET', `heatwave:session:${id}`, JSON.stringify(data), 'EX', 3600);
    return send(res, 201, data, { 'set-cookie': `heatwave_session=${id}; Path=/; HttpOnly; SameSite=Lax` });
  }
  if (path === '/sessions/me' && method === 'GET') {
    const id = cookie(req, 'heatwave_session');
    const data = id ? await r('sessions', 'GET', `heatwave:session:${id}`) : null;
    if (data === null) return send(res, 401, { error: 'no session; POST /sessions first' });
    return send(res, 200, { ...JSON.parse(data), read_by: config.container });
  }
  if (path === '/jobs' && method === 'POST') {
    const id = randomUUID();
    const to = url.searchParams.get('to') ?? 'someone@heatwave.test';
    await q(
      sql`INSERT INTO mail_jobs (id, recipient, enqueued_by) VALUES (${id}, ${to}, ${config.container})`,
    );
    await r('queue', 'LPUSH', QUEUE, JSON.stringify({ id, to, enqueued_at: Date.now() }));
    return send(res, 202, { id, to });
  }
  if (path === '/jobs' && method === 'GET') {
    const processing = await r('queue', 'KEYS', `${PROCESSING_PREFIX}*`);
    let inFlight = 0;
    for (const key of processing) inFlight += await r('queue', 'LLEN', key);
    const workers = await r('queue', 'KEYS', `${HEARTBEAT_PREFIX}*`);
    const { rows } = await q('SELECT count(*)::int AS total, count(sent_at)::int AS sent FROM mail_jobs');
    return send(res, 200, {
      queued: await r('queue', 'LLEN', QUEUE),
      processing: inFlight,
      quiet: await r('queue', 'GET', QUIET_KEY),
      workers: workers.map((k) => k.slice(HEARTBEAT_PREFIX.length)).sort(),
      ...rows[0],
    });
  }
  const job = /^\/jobs\/([\w-]+)$/.exec(path);
  if (job && method === 'GET') {
    const { rows } = await q(sql`SELECT * FROM mail_jobs WHERE id = ${job[1]}`);
    return rows[0] ? send(res, 200, rows[0]) : send(res, 404, { error: 'no such job' });
  }
  if (path === '/valkeys' && method === 'GET') {
    const out = {};
    for (const role of Object.keys(valkeys)) {
      const [, policy] = await r(role, 'CONFIG', 'GET', 'maxmemory-policy');
      const [, appendonly] = await r(role, 'CONFIG', 'GET', 'appendonly');
      const pong = await r(role, 'PING');
      out[role] = {
        address: `${valkeys[role].host}:${valkeys[role].port}`,
        ping: pong,
        maxmemory_policy: policy,
        appendonly,
      };
    }
    return send(res, 200, out);
  }
  return send(res, 404, { error: `no route for ${method} ${path}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`heatwave web: ${req.method} ${req.url}: ${error.message}`);
    if (!res.headersSent) send(res, 503, { error: error.message });
    else res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(config.port, () => {
  console.log(
    `heatwave web ${config.version} (revision ${config.revision}, ${config.environment}) listening on :${config.port}`,
  );
  ensureSchema().catch((error) => console.error(`heatwave web: schema not ready yet: ${error.message}`));
});

// Finish in-flight requests on SIGTERM (docker stop), then exit.
process.on('SIGTERM', () => {
  server.close(() => {
    db.end();
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
});
