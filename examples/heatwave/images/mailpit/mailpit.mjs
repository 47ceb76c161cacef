// heatwave-mailpit: a small SMTP sink with a web UI and a JSON API, standing in
// for axllent/mailpit. SMTP on 1025, HTTP on 8025 (MP_SMTP_BIND_ADDR,
// MP_UI_BIND_ADDR as mailpit names them). Messages are kept in memory, newest
// first, at most MP_MAX_MESSAGES (default 500, as mailpit).
//
// The HTTP API follows mailpit's documented shapes for the calls it has:
//   GET    /api/v1/messages?start=&limit=  list (total, unread, count, messages_count, start, tags, messages[])
//   GET    /api/v1/search?query=           list filtered by words (from:, to:, subject: or free text)
//   GET    /api/v1/message/{ID|latest}     one message (Text, HTML, headers as fields)
//   GET    /api/v1/message/{ID}/raw        the message source
//   DELETE /api/v1/messages                delete all, or {"IDs": [...]}
//   GET    /api/v1/info                    version and counts
//   GET    /livez, /readyz                 200
//   GET    /                               a plain HTML list of the messages
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const VERSION = process.env.MAILPIT_STANDIN_VERSION ?? '1.0.0';
const MAX = Number(process.env.MP_MAX_MESSAGES ?? 500);
const HOSTNAME = process.env.HOSTNAME ?? 'mailpit';

function bindAddr(value, fallbackPort) {
  const text = value ?? `0.0.0.0:${fallbackPort}`;
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i) || '0.0.0.0', port: Number(text.slice(i + 1)) };
}

/** @type {Array<object>} newest first */
const messages = [];

function newId() {
  const b = randomBytes(16).toString('base64url');
  return b.slice(0, 22);
}

// ---- message parsing -------------------------------------------------------

function unfoldHeaders(head) {
  const headers = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1][1] += ` ${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
  }
  return headers;
}

function decodeWords(value) {
  // RFC 2047 encoded words: =?charset?B|Q?text?=
  return value.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset, enc, text) => {
    if (enc.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
    const bytes = text
      .replace(/_/g, ' ')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  });
}

function parseAddressList(value) {
  if (!value) return [];
  const out = [];
  for (const part of value.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const text = part.trim();
    if (!text) continue;
    const m = /^(.*)<([^>]+)>$/.exec(text);
    if (m) out.push({ Name: decodeWords(m[1].trim().replace(/^"|"$/g, '')), Address: m[2].trim() });
    else out.push({ Name: '', Address: text });
  }
  return out;
}

function decodeBody(body, encoding) {
  const enc = (encoding ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

function splitMessage(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: '' };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

function header(headers, name) {
  const found = headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return found ? found[1] : undefined;
}

/** Text and HTML parts of a (possibly multipart) body. */
function bodyParts(headers, body) {
  const type = header(headers, 'Content-Type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const result = { text: '', html: '', attachments: 0 };
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const { head, body: partBody } = splitMessage(chunk.replace(/^\r?\n/, ''));
      const partHeaders = unfoldHeaders(head);
      const disposition = header(partHeaders, 'Content-Disposition') ?? '';
      if (/attachment/i.test(disposition)) {
        result.attachments++;
        continue;
      }
      const inner = bodyParts(partHeaders, partBody);
      result.text ||= inner.text;
      result.html ||= inner.html;
      result.attachments += inner.attachments;
    }
    return result;
  }
  const decoded = decodeBody(body, header(headers, 'Content-Transfer-Encoding'));
  if (/^text\/html/i.test(type)) return { text: '', html: decoded, attachments: 0 };
  return { text: decoded, html: '', attachments: 0 };
}

export function parseMessage(raw, envelope) {
  const { head, body } = splitMessage(raw);
  const headers = unfoldHeaders(head);
  const parts = bodyParts(headers, body);
  const from = parseAddressList(header(headers, 'From'))[0] ?? { Name: '', Address: envelope.from };
  let to = parseAddressList(header(headers, 'To'));
  if (to.length === 0) to = envelope.to.map((Address) => ({ Name: '', Address }));
  const created = new Date().toISOString();
  const text = parts.text || parts.html.replace(/<[^>]+>/g, ' ');
  return {
    ID: newId(),
    MessageID: (header(headers, 'Message-ID') ?? '').replace(/^<|>$/g, ''),
    Read: false,
    From: from,
    To: to,
    Cc: parseAddressList(header(headers, 'Cc')),
    Bcc: envelope.to
      .filter(
        (a) =>
          !to.some((t) => t.Address === a) &&
          !parseAddressList(header(headers, 'Cc')).some((c) => c.Address === a),
      )
      .map((Address) => ({ Name: '', Address })),
    ReplyTo: parseAddressList(header(headers, 'Reply-To')),
    ReturnPath: envelope.from,
    Subject: decodeWords(header(headers, 'Subject') ?? ''),
    Date: header(headers, 'Date') ? new Date(header(headers, 'Date')).toISOString() : created,
    Created: created,
    Tags: [],
    Size: Buffer.byteLength(raw),
    Attachments: parts.attachments,
    Snippet: text.replace(/\s+/g, ' ').trim().slice(0, 250),
    Text: parts.text,
    HTML: parts.html,
    Raw: raw,
  };
}

function summary(message) {
  const { Text: _t, HTML: _h, Raw: _r, ReturnPath: _p, Date: _d, ...rest } = message;
  return rest;
}

function details(message) {
  const { Raw: _r, Snippet: _s, Created: _c, Read: _read, Attachments: count, ...rest } = message;
  return { ...rest, Inline: [], Attachments: Array.from({ length: count }, () => ({})) };
}

function store(message) {
  messages.unshift(message);
  if (MAX > 0) messages.length = Math.min(messages.length, MAX);
  console.log(
    `mailpit: message ${message.ID} from ${message.From.Address} to ${message.To.map((t) => t.Address).join(', ')}: ${message.Subject}`,
  );
}

// ---- SMTP ------------------------------------------------------------------

function startSmtp({ host, port }) {
  const server = createTcpServer((socket) => {
    socket.setEncoding('latin1');
    let buffer = '';
    let envelope = { from: '', to: [] };
    let data = null; // collecting DATA lines when not null
    const reply = (line) => socket.write(`${line}\r\n`);
    reply(`220 ${HOSTNAME} ESMTP heatwave-mailpit`);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, '');
        buffer = buffer.slice(i + 1);
        if (data !== null) {
          if (line === '.') {
            const raw = Buffer.from(data.join('\r\n') + '\r\n', 'latin1').toString('utf8');
            store(parseMessage(raw, envelope));
            reply(`250 2.0.0 Ok: queued as ${messages[0].ID}`);
            data = null;
            envelope = { from: '', to: [] };
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const [verb, ...rest] = line.split(' ');
        const arg = rest.join(' ');
        switch ((verb ?? '').toUpperCase()) {
          case 'EHLO':
            socket.write(
              `250-${HOSTNAME}\r\n250-SIZE 0\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n`,
            );
            break;
          case 'HELO':
            reply(`250 ${HOSTNAME}`);
            break;
          case 'MAIL': {
            const m = /^FROM:\s*<([^>]*)>/i.exec(arg);
            if (!m) reply('501 5.5.4 Syntax: MAIL FROM:<address>');
            else {
              envelope = { from: m[1], to: [] };
              reply('250 2.1.0 Ok');
            }
            break;
          }
          case 'RCPT': {
            const m = /^TO:\s*<([^>]+)>/i.exec(arg);
            if (!m) reply('501 5.5.4 Syntax: RCPT TO:<address>');
            else {
              envelope.to.push(m[1]);
              reply('250 2.1.5 Ok');
            }
            break;
          }
          case 'DATA':
            if (envelope.to.length === 0) reply('503 5.5.1 Error: need RCPT command');
            else {
              data = [];
              reply('354 End data with <CR><LF>.<CR><LF>');
            }
            break;
          case 'RSET':
            envelope = { from: '', to: [] };
            reply('250 2.0.0 Ok');
            break;
          case 'NOOP':
            reply('250 2.0.0 Ok');
            break;
          case 'QUIT':
            reply('221 2.0.0 Bye');
            socket.end();
            break;
          default:
            reply('502 5.5.2 Error: command not recognized');
        }
      }
    });
  });
  server.listen(port, host, () => console.log(`mailpit: SMTP on ${host}:${port}`));
  return server;
}

// ---- HTTP ------------------------------------------------------------------

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function matches(message, query) {
  return query
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => {
      const m = /^(from|to|subject):(.*)$/i.exec(word);
      const needle = (m ? m[2] : word).replace(/^"|"$/g, '').toLowerCase();
      const field = m?.[1].toLowerCase();
      const from = `${message.From.Name} ${message.From.Address}`.toLowerCase();
      const to = message.To.map((t) => `${t.Name} ${t.Address}`)
        .join(' ')
        .toLowerCase();
      if (field === 'from') return from.includes(needle);
      if (field === 'to') return to.includes(needle);
      if (field === 'subject') return message.Subject.toLowerCase().includes(needle);
      return [from, to, message.Subject.toLowerCase(), message.Text.toLowerCase()].some((f) =>
        f.includes(needle),
      );
    });
}

function listing(list, url) {
  const start = Math.max(0, Number(url.searchParams.get('start') ?? 0) || 0);
  const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50);
  const page = list.slice(start, start + limit);
  return {
    total: messages.length,
    unread: messages.filter((m) => !m.Read).length,
    count: page.length,
    messages_count: list.length,
    messages_unread: list.filter((m) => !m.Read).length,
    start,
    tags: [],
    messages: page.map(summary),
  };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page() {
  const rows = messages
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.Created)}</td><td>${escapeHtml(m.From.Address)}</td><td>${escapeHtml(m.To.map((t) => t.Address).join(', '))}</td><td><a href="/view/${m.ID}">${escapeHtml(m.Subject || '(no subject)')}</a></td></tr>`,
    )
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>heatwave-mailpit</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}</style>
<h1>heatwave-mailpit</h1><p>${messages.length} message(s). JSON API: <a href="/api/v1/messages">/api/v1/messages</a></p>
<table><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr>
${rows}</table>`;
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });
}

function startHttp({ host, port }) {
  const server = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/livez' || path === '/readyz') return json(res, 200, 'ok');
    if (req.method === 'GET' && path === '/api/v1/messages') return json(res, 200, listing(messages, url));
    if (req.method === 'GET' && path === '/api/v1/search') {
      const query = url.searchParams.get('query') ?? '';
      return json(
        res,
        200,
        listing(
          messages.filter((m) => matches(m, query)),
          url,
        ),
      );
    }
    if (req.method === 'DELETE' && path === '/api/v1/messages') {
      const body = await readBody(req);
      let ids;
      try {
        ids = body ? JSON.parse(body).IDs : undefined;
      } catch {
        return json(res, 400, { Error: 'invalid JSON body' });
      }
      if (Array.isArray(ids) && ids.length) {
        for (let i = messages.length - 1; i >= 0; i--)
          if (ids.includes(messages[i].ID)) messages.splice(i, 1);
      } else messages.length = 0;
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('ok');
    }
    if (req.method === 'GET' && path === '/api/v1/info') {
      return json(res, 200, {
        Version: `heatwave-mailpit ${VERSION}`,
        Messages: messages.length,
        Unread: messages.filter((m) => !m.Read).length,
        Database: 'memory',
        RuntimeStats: { Uptime: Math.round(process.uptime()) },
      });
    }
    const one = /^\/api\/v1\/message\/([^/]+)(\/raw)?$/.exec(path);
    if (req.method === 'GET' && one) {
      const message = one[1] === 'latest' ? messages[0] : messages.find((m) => m.ID === one[1]);
      if (!message) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('message not found');
      }
      if (one[2]) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end(message.Raw);
      }
      message.Read = true;
      return json(res, 200, details(message));
    }
    const view = /^\/view\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && view) {
      const message = messages.find((m) => m.ID === view[1]);
      if (!message) {
        res.writeHead(404);
        return res.end('message not found');
      }
      message.Read = true;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(
        `<!doctype html><meta charset="utf-8"><p><a href="/">&larr; all messages</a></p><h2>${escapeHtml(message.Subject)}</h2><pre>${escapeHtml(message.Raw)}</pre>`,
      );
    }
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page());
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  server.listen(port, host, () => console.log(`mailpit: web UI and API on http://${host}:${port}`));
  return server;
}

const smtp = startSmtp(bindAddr(process.env.MP_SMTP_BIND_ADDR, 1025));
const http = startHttp(bindAddr(process.env.MP_UI_BIND_ADDR, 8025));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    smtp.close();
    http.close();
    process.exit(0);
  });
}
