// Fast checks of the example's own protocol code, no Docker needed:
//   node --test examples/heatwave/test/
// The SMTP client talks to the real SMTP sink (images/mailpit/mailpit.mjs) on
// loopback ports; the PostgreSQL client is exercised end to end by
// packages/wharf/test/e2e/heatwave.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { literal, sql } from '../app/lib/pg.mjs';
import { parseAddress, parseReply, RespError } from '../app/lib/resp.mjs';
import { sendMail } from '../app/lib/smtp.mjs';
import { heatwaveImageRefs, majorTag, upstreamVersion } from '../images/build.mjs';

const MAILPIT = fileURLToPath(new URL('../images/mailpit/mailpit.mjs', import.meta.url));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startMailpit() {
  const smtp = await freePort();
  const http = await freePort();
  const child = spawn(process.execPath, [MAILPIT], {
    env: { ...process.env, MP_SMTP_BIND_ADDR: `127.0.0.1:${smtp}`, MP_UI_BIND_ADDR: `127.0.0.1:${http}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('web UI')) resolve();
    });
  });
  const api = async (path, init) => {
    const response = await fetch(`http://127.0.0.1:${http}${path}`, init);
    return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
  };
  return { smtp, api, stop: () => child.kill() };
}

test('SMTP client → SMTP sink: the message shows in mailpit’s API shape', async () => {
  const sink = await startMailpit();
  try {
    const body = 'first line\n.starts with a dot\n..two dots\nlast';
    await sendMail({
      host: '127.0.0.1',
      port: sink.smtp,
      from: 'Heatwave <noreply@heatwave.test>',
      to: ['a@example.com', 'B <b@example.com>'],
      subject: 'Grüße from job 42',
      text: body,
      headers: { 'X-Heatwave-Job': '42' },
    });
    const list = await sink.api('/api/v1/messages');
    assert.equal(list.total, 1);
    assert.equal(list.unread, 1);
    assert.equal(list.messages_count, 1);
    const [summary] = list.messages;
    assert.equal(summary.Subject, 'Grüße from job 42');
    assert.deepEqual(summary.From, { Name: 'Heatwave', Address: 'noreply@heatwave.test' });
    assert.deepEqual(
      summary.To.map((t) => t.Address),
      ['a@example.com', 'b@example.com'],
    );
    assert.equal(summary.To[1].Name, 'B');
    for (const key of [
      'ID',
      'MessageID',
      'Read',
      'Cc',
      'Bcc',
      'ReplyTo',
      'Created',
      'Tags',
      'Size',
      'Attachments',
      'Snippet',
    ])
      assert.ok(key in summary, `summary has ${key}`);
    const full = await sink.api(`/api/v1/message/${summary.ID}`);
    assert.equal(full.Text.replace(/\r\n/g, '\n').trimEnd(), body, 'dot-stuffing is undone');
    assert.equal((await sink.api('/api/v1/message/latest')).ID, summary.ID);
    assert.match(await sink.api(`/api/v1/message/${summary.ID}/raw`), /^X-Heatwave-Job: 42\r$/m);
    assert.equal((await sink.api('/api/v1/messages')).unread, 0, 'reading marks it read');
    assert.equal((await sink.api('/api/v1/search?query=subject:job%2042')).messages_count, 1);
    assert.equal((await sink.api('/api/v1/search?query=to:nobody@x')).messages_count, 0);
    await sink.api('/api/v1/messages', { method: 'DELETE' });
    assert.equal((await sink.api('/api/v1/messages')).total, 0);
  } finally {
    sink.stop();
  }
});

test('SMTP client reports a refused recipient with the server’s answer', async () => {
  const sink = await startMailpit();
  try {
    await assert.rejects(
      sendMail({ host: '127.0.0.1', port: sink.smtp, from: 'x@y', to: [], subject: 's', text: 't' }),
      /answered "503 .*need RCPT/,
    );
  } finally {
    sink.stop();
  }
});

test('RESP replies parse whole, nested and split across chunks', () => {
  const buf = Buffer.from('*3\r\n$3\r\nfoo\r\n:42\r\n*2\r\n$-1\r\n+OK\r\n-ERR wrong\r\n');
  const [value, next] = parseReply(buf);
  assert.deepEqual(value, ['foo', 42, [null, 'OK']]);
  const [error] = parseReply(buf, next);
  assert.ok(error instanceof RespError);
  assert.equal(error.message, 'ERR wrong');
  for (let cut = 1; cut < next; cut++)
    assert.equal(parseReply(buf.subarray(0, cut)), undefined, `cut at ${cut}`);
  assert.deepEqual(parseReply(Buffer.from('$4\r\nhé!\r\n')), ['hé!', 10], 'lengths are in bytes');
  assert.deepEqual(parseAddress('10.0.0.1:6380'), { host: '10.0.0.1', port: 6380 });
  assert.deepEqual(parseAddress('redis://cache/0'), { host: 'cache', port: 6379 });
});

test('SQL literals are quoted so no value can end the string', () => {
  assert.equal(literal("O'Brien"), "'O''Brien'");
  assert.equal(literal(null), 'NULL');
  assert.equal(literal(7), '7');
  assert.equal(sql`SELECT ${"x'; DROP TABLE visits; --"} AS v`, "SELECT 'x''; DROP TABLE visits; --' AS v");
  assert.throws(() => literal('a\0b'), /NUL/);
});

test('image tags come from the Debian package versions', () => {
  assert.equal(upstreamVersion('5:7.0.15-1~deb12u10'), '7.0.15');
  assert.equal(upstreamVersion('15.18-0+deb12u1'), '15.18');
  assert.equal(upstreamVersion('2.6.12-1+deb12u3'), '2.6.12');
  assert.equal(majorTag('15.18', 1), '15');
  assert.equal(majorTag('1.18.0', 2), '1.18');
  assert.deepEqual(heatwaveImageRefs('localhost:5686'), {
    postgres: 'localhost:5686/heatwave-postgres:15',
    pgbouncer: 'localhost:5686/heatwave-pgbouncer:1.18',
    haproxy: 'localhost:5686/heatwave-haproxy:2.6',
    valkey: 'localhost:5686/heatwave-valkey:7.0',
    mailpit: 'localhost:5686/heatwave-mailpit:1',
  });
});
