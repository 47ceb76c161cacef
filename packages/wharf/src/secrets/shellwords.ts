/**
 * Shell word helpers with the semantics of Ruby's Shellwords, which Kamal
 * uses for inline `kamal secrets …` commands: `fetch --inline` returns its
 * JSON shell-escaped, and the secrets file splits the expanded command line
 * back into words. Matching Ruby here keeps values stored in secrets files
 * (such as `SECRETS=$(kamal secrets fetch …)`) byte-identical to Kamal's.
 */

const SAFE = /[^A-Za-z0-9_\-.,:+/@\n]/gu;

/** Ruby `String#shellescape`: backslash before every unsafe character, newlines as `'\n'`. */
export function shellEscape(value: string): string {
  if (value === '') return "''";
  return value.replace(SAFE, (ch) => `\\${ch}`).replace(/\n/g, "'\n'");
}

const WHITESPACE = new Set([' ', '\t', '\r', '\n', '\f', '\v']);

/**
 * Ruby `String#shellsplit`: splits on unquoted whitespace; single quotes are
 * literal; in double quotes a backslash escapes only `$ \` " \\` and newline;
 * outside quotes a backslash escapes the next character. Throws on an
 * unmatched quote or a NUL character (the message never repeats the input).
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let field = '';
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && WHITESPACE.has(line[i]!)) i++;
    if (i >= n) break;
    const c = line[i]!;
    if (c === '\0') throw new Error(`Nul character at position ${i} in a shell command`);
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const nul = line.indexOf('\0', i + 1);
      if (end < 0 || (nul >= 0 && nul < end))
        throw new Error(`Unmatched single quote at position ${i} in a shell command`);
      field += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      let closed = false;
      while (j < n) {
        const d = line[j]!;
        if (d === '\0') break;
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === '\\') {
          const next = line[j + 1];
          if (next === undefined || next === '\0') break;
          text += '$`"\\\n'.includes(next) ? next : `\\${next}`;
          j += 2;
          continue;
        }
        text += d;
        j++;
      }
      if (!closed) throw new Error(`Unmatched double quote at position ${i} in a shell command`);
      field += text;
      i = j + 1;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined || next === '\0') {
        field += '\\';
        i += 1;
      } else {
        // Ruby drops the backslash before any character except a newline.
        field += next === '\n' ? '\\\n' : next;
        i += 2;
      }
    } else {
      let j = i;
      while (j < n) {
        const d = line[j]!;
        if (d === '\0' || WHITESPACE.has(d) || d === '\\' || d === "'" || d === '"') break;
        j++;
      }
      field += line.slice(i, j);
      i = j;
    }
    if (i >= n || WHITESPACE.has(line[i]!)) {
      words.push(field);
      field = '';
      if (i < n) i++;
    }
  }
  return words;
}

/** Quotes one argument for display in a log line (POSIX single quotes when needed). */
export function quoteForLog(arg: string): string {
  return /^[A-Za-z0-9_\-.,:+/@=%]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
