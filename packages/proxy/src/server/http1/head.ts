// A strict HTTP/1.1 request-head parser for the fast path of the plain-HTTP
// listener. It recognises only plain, unambiguous requests; everything else
// (other versions, Transfer-Encoding, Upgrade, Expect, duplicated framing
// headers, obs-fold, bare LF, odd bytes, heads near the size limit) is
// reported as 'handoff' so that node:http, the proven path, answers it.

/** A complete, plain request head. */
export interface RequestHead {
  method: string;
  url: string;
  /** Names and values in arrival order, as node:http's rawHeaders. */
  rawHeaders: string[];
  /** Declared body length (0 when absent). */
  contentLength: number;
  /** False when the client sent Connection: close. */
  keepAlive: boolean;
  /** Bytes of the head, final CRLF CRLF included. */
  length: number;
}

export const INCOMPLETE = 0;
export const HANDOFF = 1;
export type HeadResult = RequestHead | typeof INCOMPLETE | typeof HANDOFF;

/** More header lines than node:http keeps (it drops the rest): not ours to decide. */
const MAX_HEADER_LINES = 1_000;
/** Heads this close to the size limit go to node:http, which owns the exact 431 rule. */
const SIZE_MARGIN = 256;

const END = Buffer.from('\r\n\r\n', 'latin1');

/** RFC 9110 tchar lookup. */
const TCHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ok =
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
  TCHAR[c] = ok ? 1 : 0;
}

/**
 * Parses the head at the start of `buf`. INCOMPLETE: more bytes needed (and
 * the head is still under the size limit); HANDOFF: not a plain request.
 * `searchFrom`: where the search for the head's end starts (the caller knows
 * the bytes before it hold none).
 */
export function parseRequestHead(buf: Buffer, maxHeaderSize: number, searchFrom = 0): HeadResult {
  const end = buf.indexOf(END, searchFrom);
  const limit = maxHeaderSize - SIZE_MARGIN;
  if (end === -1) return buf.length > limit ? HANDOFF : INCOMPLETE;
  if (end + 4 > limit) return HANDOFF;
  const s = buf.toString('latin1', 0, end);
  const n = s.length;

  // Request line: METHOD SP request-target SP HTTP/1.1
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 65 || c > 90) break;
    i++;
  }
  if (i === 0 || i > 24 || s.charCodeAt(i) !== 32) return HANDOFF;
  const method = s.slice(0, i);
  const urlStart = ++i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127) break;
    i++;
  }
  if (i === urlStart || s.charCodeAt(i) !== 32) return HANDOFF;
  const url = s.slice(urlStart, i);
  if (
    s.charCodeAt(i + 1) !== 72 || // H
    s.charCodeAt(i + 2) !== 84 ||
    s.charCodeAt(i + 3) !== 84 ||
    s.charCodeAt(i + 4) !== 80 ||
    s.charCodeAt(i + 5) !== 47 || // /
    s.charCodeAt(i + 6) !== 49 || // 1
    s.charCodeAt(i + 7) !== 46 || // .
    s.charCodeAt(i + 8) !== 49 // 1
  ) {
    return HANDOFF;
  }
  i += 9;
  if (i !== n && (s.charCodeAt(i) !== 13 || s.charCodeAt(i + 1) !== 10)) return HANDOFF;

  const rawHeaders: string[] = [];
  let hosts = 0;
  let contentLength = -1;
  let keepAlive = true;
  while (i < n) {
    i += 2; // CR LF ending the previous line
    const lineStart = i;
    // Name: tchars up to ':' (a leading SP/HT is obs-fold; a space before ':' is a smuggling trick).
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 128 || TCHAR[c] === 0) break;
      i++;
    }
    if (i === lineStart || s.charCodeAt(i) !== 58 /* : */) return HANDOFF;
    const name = s.slice(lineStart, i);
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 32 && c !== 9) break;
      i++;
    }
    const valueStart = i;
    let valueEnd = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 13) break;
      if ((c < 32 && c !== 9) || c === 127) return HANDOFF; // bare LF, NUL, other controls
      i++;
      if (c !== 32 && c !== 9) valueEnd = i;
    }
    if (i !== n && s.charCodeAt(i + 1) !== 10) return HANDOFF;
    const value = s.slice(valueStart, valueEnd);
    rawHeaders.push(name, value);
    if (rawHeaders.length > MAX_HEADER_LINES * 2) return HANDOFF;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return HANDOFF;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return HANDOFF;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          const v = value.toLowerCase();
          if (v === 'keep-alive') break;
          if (v === 'close') {
            keepAlive = false;
            break;
          }
          for (const token of v.split(',')) {
            const t = token.trim();
            if (t === 'close') keepAlive = false;
            else if (t === 'upgrade') return HANDOFF;
          }
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength !== -1 || value.length === 0 || value.length > 15) return HANDOFF;
          for (let k = 0; k < value.length; k++) {
            const c = value.charCodeAt(k);
            if (c < 48 || c > 57) return HANDOFF;
          }
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return HANDOFF;
        break;
    }
  }
  if (hosts !== 1) return HANDOFF;
  return {
    method,
    url,
    rawHeaders,
    contentLength: contentLength === -1 ? 0 : contentLength,
    keepAlive,
    length: end + 4,
  };
}
