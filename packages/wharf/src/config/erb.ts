/**
 * A safe evaluator for the subset of ERB that real Kamal configs use.
 *
 * Kamal renders each config file with `ERB.new(text, trim_mode: "-")` and runs
 * arbitrary Ruby. We do not run Ruby: we parse the tags into a tiny language
 * (expressions over ENV, string/number/array literals, `||`/`&&`/`!`/`==`,
 * the ternary, a few String methods, `%x(...)`/backtick commands, File.read,
 * if/elsif/else/unless/end, local variables and `each do |x|` loops) and
 * interpret it. Anything else is an ErbError naming the line, never a silently
 * wrong value.
 */

export class ErbError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'ErbError';
  }
}

export type RubyValue = string | number | boolean | null | RubyValue[];

export interface ErbContext {
  /** The process environment as ERB sees it (ENV). */
  env: Record<string, string | undefined>;
  /** Runs a shell command for %x(...) and backticks; returns stdout. Throws Error on failure. */
  runCommand(command: string): string;
  /** Reads a file for File.read (relative to the project directory). */
  readFile(path: string): string;
  /** Whether a file exists, for File.exist?. */
  fileExists(path: string): boolean;
  /** Docker's name for the local architecture, for Kamal::Utils.docker_arch (default: this machine's). */
  dockerArch?: () => string;
}

const KAMAL_VERSION = '2.12.0';

// ---------------------------------------------------------------------------
// Template scanning (ERB with trim_mode "-")

type Piece =
  | { kind: 'text'; text: string; line: number }
  | { kind: 'output'; code: string; line: number }
  | { kind: 'code'; code: string; line: number };

function countLines(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

export function scanTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  let line = 1;
  let text = '';
  let textLine = 1;
  const flushText = () => {
    if (text !== '') pieces.push({ kind: 'text', text, line: textLine });
    text = '';
  };
  while (pos < template.length) {
    const open = template.indexOf('<%', pos);
    if (open < 0) {
      if (text === '') textLine = line;
      text += template.slice(pos);
      break;
    }
    if (text === '') textLine = line;
    let before = template.slice(pos, open);
    // `<%%` is a literal `<%`.
    if (template[open + 2] === '%') {
      text += before + '<%';
      line += countLines(before);
      pos = open + 3;
      continue;
    }
    const trimLeft = template[open + 2] === '-';
    if (trimLeft) {
      // Remove indentation before the tag when it starts the line.
      const lastNl = before.lastIndexOf('\n');
      const lineStart = lastNl + 1;
      const indent = before.slice(lineStart);
      const atLineStart = lastNl >= 0 || (pos === 0 && text === '') || text.endsWith('\n') || text === '';
      if (/^[ \t]*$/.test(indent) && atLineStart) before = before.slice(0, lineStart);
    }
    text += before;
    line += countLines(template.slice(pos, open));
    flushText();
    const close = findClose(template, open + 2);
    const tagLine = line;
    if (close < 0) throw new ErbError('an ERB tag `<%` is never closed with `%>`', tagLine);
    let inner = template.slice(open + 2 + (trimLeft ? 1 : 0), close);
    const trimRight = inner.endsWith('-');
    if (trimRight) inner = inner.slice(0, -1);
    line += countLines(template.slice(open, close + 2));
    pos = close + 2;
    if (trimRight && template[pos] === '\n') {
      pos += 1;
      line += 1;
    } else if (trimRight && template[pos] === '\r' && template[pos + 1] === '\n') {
      pos += 2;
      line += 1;
    }
    if (inner.startsWith('#')) continue; // comment
    if (inner.startsWith('=')) pieces.push({ kind: 'output', code: inner.slice(1), line: tagLine });
    else pieces.push({ kind: 'code', code: inner, line: tagLine });
    textLine = line;
  }
  flushText();
  return pieces;
}

/** Finds the `%>` closing a tag, skipping over string literals so `"%>"` inside code is not a close. */
function findClose(template: string, from: number): number {
  let i = from;
  while (i < template.length) {
    const c = template[i];
    if (c === '%' && template[i + 1] === '>') return i;
    if (c === '"' || c === "'" || c === '`') {
      const q = c;
      i++;
      while (i < template.length && template[i] !== q) {
        if (template[i] === '\\') i++;
        i++;
      }
    }
    i++;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Tokens

type Tok =
  | { t: 'str'; parts: StrPart[]; line: number }
  | { t: 'cmd'; parts: StrPart[]; line: number }
  | { t: 'num'; v: number; line: number }
  | { t: 'id'; v: string; line: number }
  | { t: 'const'; v: string; line: number }
  | { t: 'ivar'; v: string; line: number }
  | { t: 'sym'; v: string; line: number }
  | { t: 'op'; v: string; line: number }
  | { t: 'words'; v: string[]; line: number }
  | { t: 'nl'; line: number }
  | { t: 'text'; v: string; line: number }
  | { t: 'out'; line: number }
  | { t: 'eof'; line: number };

type StrPart = string | { expr: Tok[] };

const OPS = [
  '&&',
  '||',
  '==',
  '!=',
  '=~',
  '<=',
  '>=',
  '::',
  '&.',
  '..',
  '&',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '?',
  ':',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '|',
  '=',
  '<',
  '>',
  ';',
];

function tokenizeCode(code: string, line0: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = line0;
  const isIdStart = (c: string) => /[A-Za-z_]/.test(c);
  const isId = (c: string) => /[A-Za-z0-9_]/.test(c);
  while (i < code.length) {
    const c = code[i]!;
    if (c === '\n') {
      toks.push({ t: 'nl', line });
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === '`') {
      const [parts, end] = readInterpolated(code, i + 1, c, line);
      toks.push(c === '"' ? { t: 'str', parts, line } : { t: 'cmd', parts, line });
      line += countLines(code.slice(i, end));
      i = end;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let s = '';
      while (j < code.length && code[j] !== "'") {
        if (code[j] === '\\' && (code[j + 1] === "'" || code[j + 1] === '\\')) {
          s += code[j + 1];
          j += 2;
        } else s += code[j++];
      }
      if (j >= code.length) throw new ErbError('a string literal is never closed', line);
      toks.push({ t: 'str', parts: [s], line });
      line += countLines(code.slice(i, j));
      i = j + 1;
      continue;
    }
    if (c === '%' && /[xwWqQ]/.test(code[i + 1] ?? '') && /[([{<|!/]/.test(code[i + 2] ?? '')) {
      const kind = code[i + 1]!;
      const openCh = code[i + 2]!;
      const closeCh =
        ({ '(': ')', '[': ']', '{': '}', '<': '>' } as Record<string, string>)[openCh] ?? openCh;
      const [raw, end] = readDelimited(code, i + 3, openCh, closeCh, line);
      if (kind === 'w' || kind === 'W')
        toks.push({ t: 'words', v: raw.split(/\s+/).filter((w) => w !== ''), line });
      else if (kind === 'q') toks.push({ t: 'str', parts: [raw], line });
      else {
        const parts = splitInterpolation(raw, line);
        toks.push(kind === 'x' ? { t: 'cmd', parts, line } : { t: 'str', parts, line });
      }
      line += countLines(code.slice(i, end));
      i = end;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i;
      while (j < code.length && /[0-9_]/.test(code[j]!)) j++;
      if (code[j] === '.' && /[0-9]/.test(code[j + 1] ?? '')) {
        j++;
        while (j < code.length && /[0-9_]/.test(code[j]!)) j++;
      }
      toks.push({ t: 'num', v: Number(code.slice(i, j).replace(/_/g, '')), line });
      i = j;
      continue;
    }
    if (c === ':' && isIdStart(code[i + 1] ?? '')) {
      let j = i + 1;
      while (j < code.length && isId(code[j]!)) j++;
      if (code[j] === '?' || code[j] === '!') j++;
      toks.push({ t: 'sym', v: code.slice(i + 1, j), line });
      i = j;
      continue;
    }
    if (c === '@' || c === '$') {
      let j = i + 1;
      while (j < code.length && isId(code[j]!)) j++;
      toks.push({ t: 'ivar', v: code.slice(i, j), line });
      i = j;
      continue;
    }
    if (isIdStart(c)) {
      let j = i;
      while (j < code.length && isId(code[j]!)) j++;
      if ((code[j] === '?' || code[j] === '!') && code[j + 1] !== '=') j++;
      const word = code.slice(i, j);
      // `key: value` hash shorthand is outside the subset; let the parser report it.
      toks.push(/^[A-Z]/.test(word) ? { t: 'const', v: word, line } : { t: 'id', v: word, line });
      i = j;
      continue;
    }
    const op = OPS.find((o) => code.startsWith(o, i));
    if (!op) throw new ErbError(`unexpected character \`${c}\` in ERB code`, line);
    toks.push({ t: 'op', v: op, line });
    i += op.length;
  }
  return toks;
}

function readDelimited(
  code: string,
  start: number,
  open: string,
  close: string,
  line: number,
): [string, number] {
  let depth = 1;
  let j = start;
  while (j < code.length) {
    const ch = code[j]!;
    if (ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === open && open !== close) depth++;
    else if (ch === close) {
      depth--;
      if (depth === 0) return [code.slice(start, j), j + 1];
    }
    j++;
  }
  throw new ErbError(`a %-literal opened with \`${open}\` is never closed`, line);
}

function readInterpolated(code: string, start: number, quote: string, line: number): [StrPart[], number] {
  let j = start;
  let raw = '';
  while (j < code.length && code[j] !== quote) {
    if (code[j] === '\\') {
      raw += code.slice(j, j + 2);
      j += 2;
      continue;
    }
    if (code[j] === '#' && code[j + 1] === '{') {
      const [inner, end] = readDelimited(code, j + 2, '{', '}', line);
      raw += `#{${inner}}`;
      j = end;
      continue;
    }
    raw += code[j++];
  }
  if (j >= code.length) throw new ErbError('a string literal is never closed', line);
  return [splitInterpolation(raw, line), j + 1];
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  e: '\x1b',
  s: ' ',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

function splitInterpolation(raw: string, line: number): StrPart[] {
  const parts: StrPart[] = [];
  let s = '';
  let j = 0;
  while (j < raw.length) {
    const ch = raw[j]!;
    if (ch === '\\') {
      const n = raw[j + 1] ?? '';
      s += ESCAPES[n] ?? n;
      j += 2;
      continue;
    }
    if (ch === '#' && raw[j + 1] === '{') {
      const [inner, end] = readDelimited(raw, j + 2, '{', '}', line);
      if (s !== '') parts.push(s);
      s = '';
      parts.push({ expr: tokenizeCode(inner, line) });
      j = end;
      continue;
    }
    s += ch;
    j++;
  }
  if (s !== '' || parts.length === 0) parts.push(s);
  return parts;
}

// ---------------------------------------------------------------------------
// AST

type Expr =
  | { k: 'lit'; v: RubyValue; line: number }
  | { k: 'str'; parts: (string | Expr)[]; line: number }
  | { k: 'cmd'; parts: (string | Expr)[]; line: number }
  | { k: 'var'; name: string; line: number }
  | { k: 'const'; name: string; line: number }
  | { k: 'array'; items: Expr[]; line: number }
  | { k: 'not'; e: Expr; line: number }
  | { k: 'bin'; op: string; a: Expr; b: Expr; line: number }
  | { k: 'tern'; c: Expr; a: Expr; b: Expr; line: number }
  | { k: 'index'; target: Expr; index: Expr; line: number }
  | { k: 'call'; target: Expr; name: string; args: Expr[]; block?: Expr; symBlock?: string; line: number };

type Stmt =
  | { k: 'text'; v: string; line: number }
  | { k: 'out'; e: Expr; line: number }
  | { k: 'expr'; e: Expr; line: number }
  | { k: 'assign'; name: string; e: Expr; line: number }
  | { k: 'if'; branches: { cond: Expr | null; negate: boolean; body: Stmt[] }[]; line: number }
  | { k: 'each'; target: Expr; vars: string[]; body: Stmt[]; line: number };

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(offset = 0): Tok {
    return this.toks[this.i + offset] ?? { t: 'eof', line: this.toks[this.toks.length - 1]?.line ?? 1 };
  }
  private next(): Tok {
    const t = this.peek();
    this.i++;
    return t;
  }
  private isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'op' && t.v === v;
  }
  private isId(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'id' && t.v === v;
  }
  private expectOp(v: string): Tok {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v)
      throw new ErbError(`expected \`${v}\` in ERB code but found ${describe(t)}`, t.line);
    return t;
  }
  private skipSeparators(): void {
    while (this.peek().t === 'nl' || this.isOp(';')) this.i++;
  }

  parseProgram(): Stmt[] {
    const body = this.parseStatements([]);
    const t = this.peek();
    if (t.t !== 'eof')
      throw new ErbError(`unexpected ${describe(t)} in ERB code (an \`end\` without an \`if\`?)`, t.line);
    return body;
  }

  private parseStatements(terminators: string[]): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.t === 'eof') return out;
      if (t.t === 'id' && terminators.includes(t.v)) return out;
      out.push(this.parseStatement());
    }
  }

  private parseStatement(): Stmt {
    const t = this.peek();
    if (t.t === 'text') {
      this.i++;
      return { k: 'text', v: t.v, line: t.line };
    }
    if (t.t === 'out') {
      this.i++;
      const e = this.parseExpr();
      return this.withModifier({ k: 'out', e, line: t.line });
    }
    if (t.t === 'id' && (t.v === 'if' || t.v === 'unless')) return this.parseIf();
    if (t.t === 'id' && this.isOp('=', 1) && !this.isOp('==', 1)) {
      this.i += 2;
      const e = this.parseExpr();
      return this.withModifier({ k: 'assign', name: t.v, e, line: t.line });
    }
    if (
      t.t === 'id' &&
      [
        'require',
        'require_relative',
        'load',
        'eval',
        'system',
        'exec',
        'def',
        'class',
        'module',
        'while',
        'until',
        'for',
        'case',
        'begin',
      ].includes(t.v)
    ) {
      throw new ErbError(
        `\`${t.v}\` is outside the ERB subset wharf evaluates (ENV lookups, string literals, if/else/end and %x(...) commands)`,
        t.line,
      );
    }
    const e = this.parseExpr();
    if (this.isId('do')) {
      if (e.k !== 'call' || (e.name !== 'each' && e.name !== 'each_with_index')) {
        throw new ErbError('only `each do |x| ... end` blocks are supported in ERB code', t.line);
      }
      this.i++;
      const vars: string[] = [];
      if (this.isOp('|')) {
        this.i++;
        while (!this.isOp('|')) {
          const v = this.next();
          if (v.t !== 'id')
            throw new ErbError(`expected a block variable name but found ${describe(v)}`, v.line);
          vars.push(v.v);
          if (this.isOp(',')) this.i++;
        }
        this.i++;
      }
      const body = this.parseStatements(['end']);
      this.expectKeyword('end', t.line);
      return { k: 'each', target: e.target, vars, body, line: t.line };
    }
    return this.withModifier({ k: 'expr', e, line: t.line });
  }

  private withModifier(s: Stmt): Stmt {
    if (this.isId('if') || this.isId('unless')) {
      const negate = (this.next() as { v: string }).v === 'unless';
      const cond = this.parseExpr();
      return {
        k: 'if',
        branches: [{ cond, negate, body: [s] }],
        line: (s as { line?: number }).line ?? cond.line,
      };
    }
    return s;
  }

  private expectKeyword(word: string, openedAt: number): void {
    const t = this.next();
    if (t.t !== 'id' || t.v !== word) {
      throw new ErbError(`the block opened on line ${openedAt} is never closed with \`${word}\``, t.line);
    }
  }

  private parseIf(): Stmt {
    const start = this.next() as { v: string; line: number };
    const branches: { cond: Expr | null; negate: boolean; body: Stmt[] }[] = [];
    let cond: Expr | null = this.parseExpr();
    let negate = start.v === 'unless';
    if (this.isId('then')) this.i++;
    for (;;) {
      const body = this.parseStatements(['elsif', 'else', 'end']);
      branches.push({ cond, negate, body });
      const t = this.next();
      if (t.t === 'id' && t.v === 'end') break;
      if (t.t === 'id' && t.v === 'elsif') {
        cond = this.parseExpr();
        negate = false;
        if (this.isId('then')) this.i++;
        continue;
      }
      if (t.t === 'id' && t.v === 'else') {
        cond = null;
        negate = false;
        continue;
      }
      throw new ErbError(
        `the \`${start.v}\` opened on line ${start.line} is never closed with \`end\``,
        t.line,
      );
    }
    return { k: 'if', branches, line: start.line };
  }

  parseExpr(): Expr {
    const c = this.parseOr();
    if (this.isOp('?')) {
      this.i++;
      const a = this.parseExpr();
      this.expectOp(':');
      const b = this.parseExpr();
      return { k: 'tern', c, a, b, line: c.line };
    }
    return c;
  }

  private parseOr(): Expr {
    let a = this.parseAnd();
    while (this.isOp('||') || this.isId('or')) {
      this.i++;
      a = { k: 'bin', op: '||', a, b: this.parseAnd(), line: a.line };
    }
    return a;
  }

  private parseAnd(): Expr {
    let a = this.parseNot();
    while (this.isOp('&&') || this.isId('and')) {
      this.i++;
      a = { k: 'bin', op: '&&', a, b: this.parseNot(), line: a.line };
    }
    return a;
  }

  private parseNot(): Expr {
    if (this.isOp('!') || this.isId('not')) {
      const t = this.next();
      return { k: 'not', e: this.parseNot(), line: t.line };
    }
    return this.parseCmp();
  }

  private parseCmp(): Expr {
    const a = this.parseAdd();
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) {
      if (this.isOp(op)) {
        this.i++;
        return { k: 'bin', op, a, b: this.parseAdd(), line: a.line };
      }
    }
    if (this.isOp('=~'))
      throw new ErbError('regular expressions (`=~`) are outside the ERB subset wharf evaluates', a.line);
    return a;
  }

  private parseAdd(): Expr {
    let a = this.parseMul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { v: string }).v;
      a = { k: 'bin', op, a, b: this.parseMul(), line: a.line };
    }
    return a;
  }

  private parseMul(): Expr {
    let a = this.parsePostfix();
    while (this.isOp('*') || this.isOp('/')) {
      const op = (this.next() as { v: string }).v;
      a = { k: 'bin', op, a, b: this.parsePostfix(), line: a.line };
    }
    return a;
  }

  private parseArgs(): { args: Expr[]; symBlock?: string } {
    const args: Expr[] = [];
    let symBlock: string | undefined;
    this.expectOp('(');
    while (!this.isOp(')')) {
      if (this.peek().t === 'eof') throw new ErbError('a `(` is never closed with `)`', this.peek().line);
      if (this.isOp('&') && this.peek(1).t === 'sym') {
        this.i++;
        symBlock = (this.next() as { v: string }).v;
      } else args.push(this.parseExpr());
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(')'))
        throw new ErbError(`expected \`,\` or \`)\` but found ${describe(this.peek())}`, this.peek().line);
    }
    this.i++;
    return symBlock === undefined ? { args } : { args, symBlock };
  }

  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      if (this.isOp('.') || this.isOp('&.')) {
        this.i++;
        const name = this.next();
        if (name.t !== 'id' && name.t !== 'const')
          throw new ErbError(`expected a method name after \`.\` but found ${describe(name)}`, name.line);
        let args: Expr[] = [];
        let symBlock: string | undefined;
        if (this.isOp('(')) ({ args, symBlock } = this.parseArgs());
        let block: Expr | undefined;
        if (this.isOp('{')) {
          this.i++;
          block = this.parseExpr();
          this.expectOp('}');
        }
        e = {
          k: 'call',
          target: e,
          name: name.v,
          args,
          line: name.line,
          ...(block ? { block } : {}),
          ...(symBlock ? { symBlock } : {}),
        };
        continue;
      }
      if (this.isOp('[')) {
        this.i++;
        const index = this.parseExpr();
        this.expectOp(']');
        e = { k: 'index', target: e, index, line: e.line };
        continue;
      }
      if (this.isOp('::'))
        throw new ErbError(
          '`::` constant lookups are outside the ERB subset wharf evaluates',
          this.peek().line,
        );
      return e;
    }
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.t) {
      case 'str':
        return {
          k: 'str',
          parts: t.parts.map((p) => (typeof p === 'string' ? p : subExpr(p.expr, t.line))),
          line: t.line,
        };
      case 'cmd':
        return {
          k: 'cmd',
          parts: t.parts.map((p) => (typeof p === 'string' ? p : subExpr(p.expr, t.line))),
          line: t.line,
        };
      case 'num':
        return { k: 'lit', v: t.v, line: t.line };
      case 'sym':
        return { k: 'lit', v: t.v, line: t.line };
      case 'words':
        return {
          k: 'array',
          items: t.v.map((w) => ({ k: 'lit', v: w, line: t.line }) as Expr),
          line: t.line,
        };
      case 'const': {
        // Kamal::Utils.docker_arch and Kamal::VERSION are the Kamal constants real configs use.
        let name = t.v;
        while (this.isOp('::')) {
          this.i++;
          const part = this.next();
          if (part.t !== 'const')
            throw new ErbError(
              `expected a constant name after \`::\` but found ${describe(part)}`,
              part.line,
            );
          name += `::${part.v}`;
        }
        if (name.includes('::') && name !== 'Kamal::Utils' && name !== 'Kamal::VERSION') {
          throw new ErbError(
            `the Ruby constant \`${name}\` is outside the ERB subset wharf evaluates (only ENV, File, Kamal::Utils.docker_arch and Kamal::VERSION)`,
            t.line,
          );
        }
        return { k: 'const', name, line: t.line };
      }
      case 'id':
        if (t.v === 'true') return { k: 'lit', v: true, line: t.line };
        if (t.v === 'false') return { k: 'lit', v: false, line: t.line };
        if (t.v === 'nil') return { k: 'lit', v: null, line: t.line };
        if (this.isOp('(')) {
          throw new ErbError(`calling \`${t.v}(...)\` is outside the ERB subset wharf evaluates`, t.line);
        }
        return { k: 'var', name: t.v, line: t.line };
      case 'op':
        if (t.v === '(') {
          const e = this.parseExpr();
          this.expectOp(')');
          return e;
        }
        if (t.v === '[') {
          const items: Expr[] = [];
          while (!this.isOp(']')) {
            items.push(this.parseExpr());
            if (this.isOp(',')) this.i++;
            else if (!this.isOp(']'))
              throw new ErbError(
                `expected \`,\` or \`]\` but found ${describe(this.peek())}`,
                this.peek().line,
              );
          }
          this.i++;
          return { k: 'array', items, line: t.line };
        }
        if (t.v === '-' && this.peek().t === 'num') {
          const n = this.next() as { v: number };
          return { k: 'lit', v: -n.v, line: t.line };
        }
        break;
      case 'ivar':
        throw new ErbError(`\`${t.v}\` variables are outside the ERB subset wharf evaluates`, t.line);
      default:
        break;
    }
    throw new ErbError(`unexpected ${describe(t)} in ERB code`, t.line);
  }
}

function subExpr(toks: Tok[], line: number): Expr {
  const p = new Parser(toks);
  const e = p.parseExpr();
  return e.line ? e : { ...e, line };
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'eof':
      return 'the end of the tag';
    case 'nl':
      return 'a line break';
    case 'text':
      return 'template text';
    case 'out':
      return 'an output tag';
    case 'str':
      return 'a string';
    case 'cmd':
      return 'a command';
    case 'num':
      return `the number ${t.v}`;
    case 'words':
      return 'a word list';
    default:
      return `\`${(t as { v: string }).v}\``;
  }
}

// ---------------------------------------------------------------------------
// Interpreter

export function rubyToS(v: RubyValue): string {
  if (v === null) return '';
  if (Array.isArray(v)) return rubyInspect(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  return String(v);
}

function rubyInspect(v: RubyValue): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const truthy = (v: RubyValue): boolean => v !== null && v !== false;

class Interpreter {
  private readonly vars = new Map<string, RubyValue>();
  private out = '';
  private steps = 0;
  /** lineMap[i] is the template line that output line i (0-based) came from. */
  readonly lineMap: number[] = [];
  constructor(private readonly ctx: ErbContext) {}

  run(stmts: Stmt[]): string {
    this.exec(stmts);
    return this.out;
  }

  private outLine = 0;
  private fresh = true;

  private append(text: string, line: number, advances: boolean): void {
    if (text === '') return;
    const parts = text.split('\n');
    parts.forEach((part, i) => {
      const src = advances ? line + i : line;
      if (i > 0) {
        this.outLine++;
        this.lineMap[this.outLine] = src;
        this.fresh = true;
      }
      if (part !== '' && this.fresh) {
        this.lineMap[this.outLine] = src;
        this.fresh = false;
      } else if (this.lineMap[this.outLine] === undefined) this.lineMap[this.outLine] = src;
    });
    this.out += text;
  }

  private exec(stmts: Stmt[]): void {
    for (const s of stmts) {
      if (++this.steps > 1_000_000)
        throw new ErbError(
          'the ERB code runs too long (more than a million steps)',
          (s as { line?: number }).line ?? 1,
        );
      switch (s.k) {
        case 'text':
          this.append(s.v, s.line, true);
          break;
        case 'out':
          this.append(rubyToS(this.eval(s.e)), s.line, false);
          break;
        case 'expr':
          this.eval(s.e);
          break;
        case 'assign':
          this.vars.set(s.name, this.eval(s.e));
          break;
        case 'if':
          for (const b of s.branches) {
            if (b.cond === null || truthy(this.eval(b.cond)) !== b.negate) {
              this.exec(b.body);
              break;
            }
          }
          break;
        case 'each': {
          const list = this.eval(s.target);
          if (!Array.isArray(list)) throw new ErbError('`each` needs a list', s.line);
          list.forEach((item, index) => {
            if (s.vars.length > 0) this.vars.set(s.vars[0]!, item);
            if (s.vars.length > 1) this.vars.set(s.vars[1]!, index);
            this.exec(s.body);
          });
          break;
        }
      }
    }
  }

  private str(parts: (string | Expr)[]): string {
    return parts.map((p) => (typeof p === 'string' ? p : rubyToS(this.eval(p)))).join('');
  }

  eval(e: Expr): RubyValue {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'str':
        return this.str(e.parts);
      case 'cmd': {
        const command = this.str(e.parts);
        try {
          return this.ctx.runCommand(command);
        } catch (error) {
          throw new ErbError(`the command \`${command}\` failed: ${(error as Error).message}`, e.line);
        }
      }
      case 'array':
        return e.items.map((x) => this.eval(x));
      case 'var':
        if (this.vars.has(e.name)) return this.vars.get(e.name)!;
        throw new ErbError(
          `\`${e.name}\` is not a variable wharf knows in ERB (only ENV, string literals and variables assigned earlier)`,
          e.line,
        );
      case 'const':
        if (e.name === 'Kamal::VERSION') return KAMAL_VERSION;
        if (e.name === 'ENV' || e.name === 'File' || e.name === 'Kamal::Utils') return `<${e.name}>`;
        throw new ErbError(
          `the Ruby constant \`${e.name}\` is outside the ERB subset wharf evaluates (only ENV and File.read)`,
          e.line,
        );
      case 'not':
        return !truthy(this.eval(e.e));
      case 'tern':
        return truthy(this.eval(e.c)) ? this.eval(e.a) : this.eval(e.b);
      case 'bin':
        return this.binary(e);
      case 'index': {
        if (e.target.k === 'const' && e.target.name === 'ENV') {
          const key = this.eval(e.index);
          return this.ctx.env[rubyToS(key)] ?? null;
        }
        const target = this.eval(e.target);
        const idx = this.eval(e.index);
        if (Array.isArray(target) && typeof idx === 'number') return target.at(idx) ?? null;
        if (typeof target === 'string' && typeof idx === 'number') return target.at(idx) ?? null;
        throw new ErbError('indexing with `[...]` works only on ENV, lists and strings', e.line);
      }
      case 'call':
        return this.call(e);
    }
  }

  private binary(e: Extract<Expr, { k: 'bin' }>): RubyValue {
    if (e.op === '||') {
      const a = this.eval(e.a);
      return truthy(a) ? a : this.eval(e.b);
    }
    if (e.op === '&&') {
      const a = this.eval(e.a);
      return truthy(a) ? this.eval(e.b) : a;
    }
    const a = this.eval(e.a);
    const b = this.eval(e.b);
    switch (e.op) {
      case '==':
        return rubyInspect(a) === rubyInspect(b);
      case '!=':
        return rubyInspect(a) !== rubyInspect(b);
      case '+':
        if (typeof a === 'string' && typeof b === 'string') return a + b;
        if (typeof a === 'number' && typeof b === 'number') return a + b;
        if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
        throw new ErbError(
          `cannot add ${rubyInspect(a)} and ${rubyInspect(b)} (Ruby would raise a TypeError)`,
          e.line,
        );
      default:
        if (typeof a === 'number' && typeof b === 'number') {
          switch (e.op) {
            case '-':
              return a - b;
            case '*':
              return a * b;
            case '/':
              if (b === 0) throw new ErbError('division by zero in ERB code', e.line);
              return Number.isInteger(a) && Number.isInteger(b) ? Math.floor(a / b) : a / b;
            case '<':
              return a < b;
            case '>':
              return a > b;
            case '<=':
              return a <= b;
            case '>=':
              return a >= b;
          }
        }
        if (typeof a === 'string' && typeof b === 'string' && ['<', '>', '<=', '>='].includes(e.op)) {
          return e.op === '<' ? a < b : e.op === '>' ? a > b : e.op === '<=' ? a <= b : a >= b;
        }
        throw new ErbError(
          `the operator \`${e.op}\` does not apply to ${rubyInspect(a)} and ${rubyInspect(b)}`,
          e.line,
        );
    }
  }

  private call(e: Extract<Expr, { k: 'call' }>): RubyValue {
    if (e.target.k === 'const' && e.target.name === 'ENV') return this.envCall(e);
    if (e.target.k === 'const' && e.target.name === 'File') return this.fileCall(e);
    if (e.target.k === 'const' && e.target.name === 'Kamal::Utils') {
      if (e.name !== 'docker_arch')
        throw new ErbError(
          `\`Kamal::Utils.${e.name}\` is outside the ERB subset wharf evaluates (only Kamal::Utils.docker_arch)`,
          e.line,
        );
      if (this.ctx.dockerArch) return this.ctx.dockerArch();
      return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
    }
    const target = this.eval(e.target);
    const args = e.args.map((a) => this.eval(a));
    const argStr = (i: number): string => {
      const v = args[i];
      if (typeof v !== 'string') throw new ErbError(`\`${e.name}\` needs a string argument`, e.line);
      return v;
    };
    const blank =
      target === null ||
      target === false ||
      (typeof target === 'string' && target.trim() === '') ||
      (Array.isArray(target) && target.length === 0);
    switch (e.name) {
      case 'nil?':
        return target === null;
      case 'present?':
        return !blank;
      case 'blank?':
        return blank;
      case 'presence':
        return blank ? null : target;
      case 'to_s':
        return rubyToS(target);
      case 'inspect':
        return rubyInspect(target);
      case 'to_i': {
        const m = /^\s*[-+]?\d[\d_]*/.exec(rubyToS(target));
        return m ? Number(m[0].replace(/_/g, '')) : 0;
      }
      case 'to_sym':
      case 'to_str':
        return rubyToS(target);
    }
    if (Array.isArray(target)) {
      switch (e.name) {
        case 'join':
          return target.map(rubyToS).join(args.length ? argStr(0) : '');
        case 'first':
          return target[0] ?? null;
        case 'last':
          return target[target.length - 1] ?? null;
        case 'size':
        case 'length':
        case 'count':
          return target.length;
        case 'empty?':
          return target.length === 0;
        case 'include?':
          return target.some((x) => rubyInspect(x) === rubyInspect(args[0] ?? null));
        case 'compact':
          return target.filter((x) => x !== null);
        case 'uniq':
          return target.filter((x, i) => target.findIndex((y) => rubyInspect(y) === rubyInspect(x)) === i);
        case 'map':
          if (e.symBlock) {
            return target.map((x) =>
              this.call({
                k: 'call',
                target: { k: 'lit', v: x, line: e.line },
                name: e.symBlock!,
                args: [],
                line: e.line,
              }),
            );
          }
          break;
      }
    }
    if (typeof target === 'string') {
      switch (e.name) {
        case 'strip':
          return target.replace(/^[\s\0]+|[\s\0]+$/g, '');
        case 'lstrip':
          return target.replace(/^\s+/, '');
        case 'rstrip':
          return target.replace(/[\s\0]+$/, '');
        case 'chomp':
          return args.length
            ? target.endsWith(argStr(0))
              ? target.slice(0, -argStr(0).length || undefined)
              : target
            : target.replace(/\r?\n$|\r$/, '');
        case 'downcase':
          return target.toLowerCase();
        case 'upcase':
          return target.toUpperCase();
        case 'empty?':
          return target === '';
        case 'size':
        case 'length':
          return [...target].length;
        case 'include?':
          return target.includes(argStr(0));
        case 'start_with?':
          return args.some((_, i) => target.startsWith(argStr(i)));
        case 'end_with?':
          return args.some((_, i) => target.endsWith(argStr(i)));
        case 'split': {
          if (args.length === 0)
            return target
              .trim()
              .split(/\s+/)
              .filter((x) => x !== '');
          const parts = target.split(argStr(0));
          while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
          return parts;
        }
        case 'lines':
          return target.split(/(?<=\n)/).filter((x) => x !== '');
        case 'sub':
          return target.replace(argStr(0), () => argStr(1));
        case 'gsub':
          return target.split(argStr(0)).join(argStr(1));
        case 'delete_prefix':
          return target.startsWith(argStr(0)) ? target.slice(argStr(0).length) : target;
        case 'delete_suffix':
          return target.endsWith(argStr(0)) && argStr(0) !== '' ? target.slice(0, -argStr(0).length) : target;
      }
    }
    throw new ErbError(
      `the method \`${e.name}\` is outside the ERB subset wharf evaluates (on ${rubyInspect(target)})`,
      e.line,
    );
  }

  private envCall(e: Extract<Expr, { k: 'call' }>): RubyValue {
    const args = e.args.map((a) => this.eval(a));
    const key = args[0] === undefined ? undefined : rubyToS(args[0]);
    switch (e.name) {
      case 'fetch': {
        if (key === undefined) throw new ErbError('`ENV.fetch` needs the name of a variable', e.line);
        const value = this.ctx.env[key];
        if (value !== undefined) return value;
        if (args.length > 1) return args[1]!;
        if (e.block) return this.eval(e.block);
        throw new ErbError(
          `ENV.fetch("${key}") failed because the environment variable ${key} is not set; set it or give a default with ENV.fetch("${key}", "default")`,
          e.line,
        );
      }
      case 'key?':
      case 'has_key?':
      case 'include?':
      case 'member?':
        if (key === undefined) throw new ErbError(`\`ENV.${e.name}\` needs the name of a variable`, e.line);
        return this.ctx.env[key] !== undefined;
      case '[]':
        return key === undefined ? null : (this.ctx.env[key] ?? null);
    }
    throw new ErbError(
      `\`ENV.${e.name}\` is outside the ERB subset wharf evaluates (use ENV["X"], ENV.fetch("X") or ENV.fetch("X", "default"))`,
      e.line,
    );
  }

  private fileCall(e: Extract<Expr, { k: 'call' }>): RubyValue {
    const args = e.args.map((a) => this.eval(a));
    const path = args[0] === undefined ? undefined : rubyToS(args[0]);
    if (path === undefined) throw new ErbError(`\`File.${e.name}\` needs a path`, e.line);
    switch (e.name) {
      case 'read':
        try {
          return this.ctx.readFile(path);
        } catch (error) {
          throw new ErbError(
            `File.read("${path}") failed: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
            e.line,
          );
        }
      case 'exist?':
      case 'exists?':
      case 'file?':
        return this.ctx.fileExists(path);
    }
    throw new ErbError(
      `\`File.${e.name}\` is outside the ERB subset wharf evaluates (only File.read and File.exist?)`,
      e.line,
    );
  }
}

export interface ErbResult {
  text: string;
  /** lineMap[i] is the template line (1-based) that rendered line i (0-based) came from; absent when nothing was evaluated. */
  lineMap?: number[];
}

/** Renders an ERB template. Throws ErbError (with the template line) for anything outside the subset. */
export function renderErb(template: string, ctx: ErbContext): ErbResult {
  if (!template.includes('<%')) return { text: template };
  const pieces = scanTemplate(template);
  const toks: Tok[] = [];
  for (const p of pieces) {
    if (p.kind === 'text') toks.push({ t: 'text', v: p.text, line: p.line });
    else if (p.kind === 'output') {
      toks.push({ t: 'out', line: p.line });
      toks.push(...tokenizeCode(p.code, p.line));
      toks.push({ t: 'nl', line: p.line });
    } else {
      toks.push(...tokenizeCode(p.code, p.line));
      toks.push({ t: 'nl', line: p.line });
    }
  }
  let program: Stmt[];
  try {
    program = new Parser(toks).parseProgram();
  } catch (error) {
    if (error instanceof RangeError) throw new ErbError('the ERB code is nested too deeply', 1);
    throw error;
  }
  try {
    const interpreter = new Interpreter(ctx);
    const text = interpreter.run(program);
    return { text, lineMap: interpreter.lineMap };
  } catch (error) {
    if (error instanceof RangeError) throw new ErbError('the ERB code is nested too deeply', 1);
    throw error;
  }
}
