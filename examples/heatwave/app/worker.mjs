// heatwave worker role: consumes mail jobs from valkey-queue and sends each
// through the SMTP sink (Sidekiq's part in the seed).
//
// Reliable queue: a job moves atomically from the queue to this worker's own
// processing list (BLMOVE) and leaves it only after the mail is sent and the
// job's row says so. A worker that dies mid-job leaves the job in its list; any
// worker puts such jobs back on the queue once the dead one's heartbeat key has
// expired. Sending is idempotent per job id (the row's sent_at), so a job is
// never lost and, barring a crash between sending and recording, sent once.
//
// Quiet mode: while the key heatwave:worker:quiet exists, no new job is taken
// (in-flight ones finish) — the pre-deploy hook sets it, post-deploy clears it,
// as the seed's hooks quiet Sidekiq with TSTP. SIGTERM (docker stop) finishes
// the job in hand and exits.
import { PgPool, sql } from './lib/pg.mjs';
import { RespClient } from './lib/resp.mjs';
import { migrate } from './lib/schema.mjs';
import { sendMail } from './lib/smtp.mjs';
import { HEARTBEAT_PREFIX, PROCESSING_PREFIX, QUEUE, QUIET_KEY, settings } from './lib/settings.mjs';

const config = settings();
const me = config.container;
const processing = `${PROCESSING_PREFIX}${me}`;
const db = new PgPool({ ...config.database, max: 2, applicationName: `heatwave-worker@${me}` });
const queue = new RespClient(config.redis.queue, { name: `heatwave-worker-${me}` });
const blocking = new RespClient(config.redis.queue, { name: `heatwave-worker-${me}-fetch` });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => console.log(`heatwave worker ${me}: ${line}`);

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  log('SIGTERM: finishing the job in hand, then exiting');
});
process.on('SIGINT', () => (stopping = true));

async function heartbeat() {
  await queue.command('SET', `${HEARTBEAT_PREFIX}${me}`, config.version, 'EX', 10);
}

/** Puts jobs of workers whose heartbeat expired back on the queue (consumer end, so they go first). */
async function recoverOrphans() {
  for (const key of await queue.command('KEYS', `${PROCESSING_PREFIX}*`)) {
    const owner = key.slice(PROCESSING_PREFIX.length);
    if (owner === me) continue;
    if (await queue.command('EXISTS', `${HEARTBEAT_PREFIX}${owner}`)) continue;
    let moved = 0;
    while ((await queue.command('LMOVE', key, QUEUE, 'RIGHT', 'RIGHT')) !== null) moved++;
    if (moved) log(`put ${moved} job(s) of stopped worker ${owner} back on the queue`);
  }
}

async function perform(raw) {
  const job = JSON.parse(raw);
  const { rows } = await db.query(
    sql`UPDATE mail_jobs SET attempts = attempts + 1 WHERE id = ${job.id} RETURNING sent_at`,
  );
  if (rows[0]?.sent_at) {
    log(`job ${job.id} was already sent; dropping the duplicate`);
    return;
  }
  await sendMail({
    ...config.smtp,
    to: job.to,
    subject: `Heatwave job ${job.id}`,
    text: `Hello from the heatwave worker.\n\njob: ${job.id}\nsent by: ${me} (version ${config.version}, revision ${config.revision})\n`,
    headers: { 'X-Heatwave-Job': job.id },
  });
  await db.query(sql`UPDATE mail_jobs SET sent_at = now(), sent_by = ${me} WHERE id = ${job.id}`);
}

async function main() {
  for (;;) {
    try {
      await migrate(db);
      await heartbeat();
      break;
    } catch (error) {
      if (stopping) process.exit(0);
      log(`waiting for PostgreSQL and valkey-queue: ${error.message}`);
      await sleep(1000);
    }
  }
  // A job left in our own list by an earlier run of this container goes back first.
  while ((await queue.command('LMOVE', processing, QUEUE, 'RIGHT', 'RIGHT')) !== null);
  log(`started (version ${config.version}, revision ${config.revision})`);
  const beat = setInterval(() => heartbeat().catch(() => {}), 2000);
  const sweep = setInterval(() => recoverOrphans().catch(() => {}), 3000);
  await recoverOrphans();

  let wasQuiet = false;
  while (!stopping) {
    try {
      const quiet = (await queue.command('EXISTS', QUIET_KEY)) === 1;
      if (quiet !== wasQuiet) log(quiet ? 'quiet: taking no new jobs' : 'resumed: taking jobs');
      wasQuiet = quiet;
      if (quiet) {
        await sleep(300);
        continue;
      }
      const raw = await blocking.command('BLMOVE', QUEUE, processing, 'RIGHT', 'LEFT', 1);
      if (raw === null) continue;
      try {
        await perform(raw);
        await queue.command('LREM', processing, 1, raw);
      } catch (error) {
        log(`job failed, back on the queue: ${error.message}`);
        await queue.command('LREM', processing, 1, raw);
        await queue.command('LPUSH', QUEUE, raw);
        await sleep(1000);
      }
    } catch (error) {
      log(`queue error: ${error.message}`);
      await sleep(1000);
    }
  }
  clearInterval(beat);
  clearInterval(sweep);
  // Anything still in our list (there should be nothing) goes back before we leave.
  while ((await queue.command('LMOVE', processing, QUEUE, 'RIGHT', 'RIGHT')) !== null);
  await queue.command('DEL', `${HEARTBEAT_PREFIX}${me}`);
  log('stopped');
  process.exit(0);
}

main().catch((error) => {
  log(`fatal: ${error.stack ?? error.message}`);
  process.exit(1);
});
