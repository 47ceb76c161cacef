// A minimal SMTP client: one connection per message, EHLO, MAIL FROM, RCPT TO,
// DATA (dot-stuffed), QUIT. No TLS or AUTH (the SMTP sink needs neither).
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { hostname } from 'node:os';

function encodeHeader(value) {
  return /^[\x20-\x7e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The message source: headers, a blank line, the text body, CRLF line ends. */
export function composeMessage({ from, to, subject, text, headers = {} }) {
  const recipients = Array.isArray(to) ? to : [to];
  const lines = [
    `From: ${from}`,
    `To: ${recipients.join(', ')}`,
    `Subject: ${encodeHeader(subject)}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomUUID()}@${hostname()}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${encodeHeader(String(v))}`),
    '',
    ...text.replace(/\r\n/g, '\n').split('\n'),
  ];
  return lines.join('\r\n');
}

export function sendMail({ host, port = 25, from, to, subject, text, headers, timeoutMs = 10_000 }) {
  const recipients = Array.isArray(to) ? to : [to];
  const envelopeFrom = /<([^>]+)>/.exec(from)?.[1] ?? from;
  const source = composeMessage({ from, to: recipients, subject, text, headers });
  const stuffed = source
    .split('\r\n')
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
  const steps = [
    [null, 220],
    [`EHLO ${hostname()}`, 250],
    [`MAIL FROM:<${envelopeFrom}>`, 250],
    ...recipients.map((r) => [`RCPT TO:<${/<([^>]+)>/.exec(r)?.[1] ?? r}>`, 250]),
    ['DATA', 354],
    [`${stuffed}\r\n.`, 250],
    ['QUIT', 221],
  ];
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setEncoding('utf8');
    const timer = setTimeout(() => socket.destroy(new Error(`SMTP to ${host}:${port} timed out`)), timeoutMs);
    let buffer = '';
    let step = 0;
    let queued = '';
    const finish = (error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve({ queued });
    };
    socket.on('error', finish);
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        // A reply is complete at a line "NNN text" (multi-line replies use "NNN-").
        const m = /(^|\n)(\d{3}) [^\n]*\n/.exec(buffer);
        if (!m) return;
        const code = Number(m[2]);
        const text = buffer.slice(0, m.index + m[0].length).trim();
        buffer = buffer.slice(m.index + m[0].length);
        const [, want] = steps[step];
        if (code !== want)
          return finish(
            new Error(
              `SMTP ${host}:${port} answered "${text}" to ${steps[step][0]?.split(' ')[0] ?? 'connect'}`,
            ),
          );
        if (steps[step][0]?.endsWith('\r\n.')) queued = text;
        step++;
        if (step >= steps.length) return finish();
        socket.write(`${steps[step][0]}\r\n`);
      }
    });
  });
}
