/**
 * Reads YAML the way Kamal's loader (Ruby Psych, `YAML.unsafe_load`) does:
 * plain scalars are typed with Psych's YAML 1.1 rules (yes/no/on/off are
 * booleans, 0755 is octal, 1_000 is 1000, `:sym` is a symbol, 1:30 is base 60),
 * quoted scalars stay strings, anchors/aliases and `<<` merge keys work,
 * duplicate keys keep the last value. It also remembers the line of every key
 * and list item so errors can point at them.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  Scalar,
  type Document,
  type Node,
  type ParsedNode,
} from 'yaml';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export interface YamlProblem {
  line?: number;
  message: string;
  path?: (string | number)[];
}

export interface YamlReadResult {
  value: YamlValue;
  /** Line (1-based, in the source file) of each path, keyed by pathKey(path). */
  lines: Map<string, number>;
  /** Problems that stop loading (syntax errors, unsupported tags). */
  errors: YamlProblem[];
  /** Things Kamal accepts silently but that are probably mistakes (duplicate keys). */
  warnings: YamlProblem[];
}

export function pathKey(path: readonly (string | number)[]): string {
  return path.join('\u0000');
}

const STRINGY_START = /^[^\d.:-]?[\p{L}_\s!@#$%^&*(){}<>|/\\~;=]+/u;
const TIME =
  /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/;
const FLOAT = /^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$/;
const INTEGER =
  /^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$/;

/** Psych's ScalarScanner#tokenize for an untagged plain scalar. */
export function resolvePlainScalar(s: string): YamlValue {
  if (s === '') return null;
  if (STRINGY_START.test(s) || s.includes('\n')) {
    if (s.length > 5) return s;
    if (/^[^ytonf~]/i.test(s)) return s;
    if (s === '~' || /^null$/i.test(s)) return null;
    if (/^(yes|true|on)$/i.test(s)) return true;
    if (/^(no|false|off)$/i.test(s)) return false;
    return s;
  }
  if (TIME.test(s)) return s;
  if (/^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/.test(s)) return s;
  if (/^\+?\.inf$/i.test(s)) return Infinity;
  if (/^-\.inf$/i.test(s)) return -Infinity;
  if (/^\.nan$/i.test(s)) return NaN;
  if (/^:./.test(s)) {
    const quoted = /^:(["'])(.*)\1/.exec(s);
    return quoted ? quoted[2]!.replace(/^:/, '') : s.slice(1);
  }
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$/.test(s))
    return sexagesimal(s, (n) => parseInt(n.replace(/_/g, ''), 10) || 0);
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$/.test(s))
    return rubyFloat(sexagesimal(s, (n) => parseFloat(n.replace(/_/g, '')) || 0));
  if (FLOAT.test(s)) {
    if (/^[-+]?\.$/.test(s)) return s;
    return rubyFloat(parseFloat(s.replace(/[,_]|\.([Ee]|$)/g, '$1')));
  }
  const digits = s.replace(/[,_]/g, '');
  if (INTEGER.test(digits)) return parseRubyInteger(digits);
  return s;
}

/**
 * A Ruby Float. Kamal never accepts a Float where it wants a number (every
 * numeric key is Integer-typed) and prints a whole Float as "30.0", so a whole
 * float becomes that string: `deploy_timeout: 30.0` is rejected as in Kamal,
 * and `cpus: 2.0` reaches docker as "2.0". Other floats stay numbers.
 */
function rubyFloat(f: number): YamlValue {
  return Number.isInteger(f) && Math.abs(f) < 1e16 ? `${f}.0` : f;
}

function sexagesimal(s: string, num: (n: string) => number): number {
  let total = 0;
  s.split(':').forEach((n, e) => {
    total += num(n) * 60 ** Math.abs(e - 2);
  });
  return total;
}

function parseRubyInteger(s: string): number | string {
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.replace(/^[-+]/, '');
  let n: number;
  if (/^0b/i.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0x/i.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[0-7]+$/.test(body)) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  return Number.isNaN(n) ? s : sign * n;
}

/** Ruby's to_s for a YAML scalar used as a hash key or interpolated into a string. */
export function rubyScalarToS(v: YamlValue): string {
  if (v === null) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    return String(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const MAX_DEPTH = 200;

class Converter {
  readonly lines = new Map<string, number>();
  readonly errors: YamlProblem[] = [];
  readonly warnings: YamlProblem[] = [];
  private readonly memo = new Map<Node, YamlValue>();
  private readonly resolving = new Set<Node>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineOf: (offset: number) => number,
  ) {}

  private nodeLine(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lineOf(range[0]) : undefined;
  }

  convert(node: unknown, path: (string | number)[], depth: number): YamlValue {
    if (depth > MAX_DEPTH) {
      this.errors.push({
        line: this.nodeLine(node),
        message: `the YAML is nested more than ${MAX_DEPTH} levels deep`,
        path,
      });
      return null;
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        this.errors.push({
          line: this.nodeLine(node),
          message: `the alias *${node.source} refers to an anchor that is not defined before it`,
          path,
        });
        return null;
      }
      if (this.resolving.has(target)) {
        this.errors.push({
          line: this.nodeLine(node),
          message: `the alias *${node.source} refers to itself`,
          path,
        });
        return null;
      }
      const cached = this.memo.get(target);
      if (cached !== undefined) return cached;
      this.resolving.add(target);
      const value = this.convert(target, path, depth + 1);
      this.resolving.delete(target);
      this.memo.set(target, value);
      return value;
    }
    if (isScalar(node)) return this.scalar(node, path);
    const tag = (node as { tag?: string }).tag;
    if (tag && !/^tag:yaml\.org,2002:(map|seq)$/.test(tag) && tag !== '!') {
      this.errors.push({
        line: this.nodeLine(node),
        path,
        message: `the YAML tag \`${tag}\` is not supported (wharf reads plain data only, never Ruby objects)`,
      });
      return null;
    }
    if (isSeq(node)) {
      const out: YamlValue[] = [];
      node.items.forEach((item, index) => {
        const line = this.nodeLine(item);
        if (line !== undefined) this.lines.set(pathKey([...path, index]), line);
        out.push(this.convert(item, [...path, index], depth + 1));
      });
      return out;
    }
    if (isMap(node)) {
      const out: { [key: string]: YamlValue } = {};
      const seen = new Map<string, number | undefined>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const line = this.nodeLine(keyNode) ?? this.nodeLine(pair.value);
        if (isScalar(keyNode) && keyNode.type === Scalar.PLAIN && keyNode.source === '<<' && !keyNode.tag) {
          this.merge(out, pair.value, path, depth, line);
          continue;
        }
        const keyValue = keyNode === null ? null : this.convert(keyNode, [...path, '(key)'], depth + 1);
        const key = rubyScalarToS(keyValue);
        if (seen.has(key)) {
          this.warnings.push({
            line,
            path: [...path, key],
            message: `the key \`${key}\` appears twice in the same mapping (also on line ${seen.get(key) ?? '?'}); YAML keeps only the last one`,
          });
        }
        seen.set(key, line);
        if (line !== undefined) this.lines.set(pathKey([...path, key]), line);
        out[key] = this.convert(pair.value, [...path, key], depth + 1);
      }
      return out;
    }
    this.errors.push({ line: this.nodeLine(node), message: 'this YAML node type is not supported', path });
    return null;
  }

  /** Psych merges `<<` into the hash at the point it appears (later keys win, and so do merged keys over earlier ones). */
  private merge(
    out: { [key: string]: YamlValue },
    valueNode: unknown,
    path: (string | number)[],
    depth: number,
    line: number | undefined,
  ): void {
    const value = this.convert(valueNode, path, depth + 1);
    const isHash = (v: YamlValue): v is { [key: string]: YamlValue } =>
      v !== null && typeof v === 'object' && !Array.isArray(v);
    const target = isAlias(valueNode) ? valueNode.resolve(this.doc) : valueNode;
    if (isHash(value) && (isMap(target) || isAlias(valueNode))) {
      Object.assign(out, value);
      for (const key of Object.keys(value))
        if (line !== undefined && !this.lines.has(pathKey([...path, key])))
          this.lines.set(pathKey([...path, key]), line);
      return;
    }
    if (Array.isArray(value) && isSeq(target) && value.every(isHash)) {
      const merged: { [key: string]: YamlValue } = {};
      for (const h of [...value].reverse()) Object.assign(merged, h);
      Object.assign(out, merged);
      for (const key of Object.keys(merged))
        if (line !== undefined) this.lines.set(pathKey([...path, key]), line);
      return;
    }
    out['<<'] = value;
    if (line !== undefined) this.lines.set(pathKey([...path, '<<']), line);
  }

  private scalar(node: Scalar, path: (string | number)[]): YamlValue {
    const raw = node.value;
    const text = typeof raw === 'string' ? raw : raw === null || raw === undefined ? '' : String(raw);
    const tag = node.tag;
    if (tag) {
      const short = tag.replace(/^tag:yaml\.org,2002:/, '!!');
      switch (short) {
        case '!!str':
        case '!':
        case '!!binary':
          return text;
        case '!!int': {
          const v = resolvePlainScalar(text.trim());
          return typeof v === 'number' ? Math.trunc(v) : text;
        }
        case '!!float': {
          const f = parseFloat(text.replace(/_/g, ''));
          return Number.isNaN(f) ? text : rubyFloat(f);
        }
        case '!!bool': {
          const v = resolvePlainScalar(text);
          return typeof v === 'boolean' ? v : text;
        }
        case '!!null':
          return null;
        default:
          this.errors.push({
            line: this.nodeLine(node),
            path,
            message: `the YAML tag \`${tag}\` is not supported (wharf reads plain data only, never Ruby objects)`,
          });
          return null;
      }
    }
    if (node.type === Scalar.PLAIN)
      return resolvePlainScalar(typeof node.source === 'string' ? node.source : text);
    return text;
  }
}

function lineLookup(text: string, lineMap: number[] | undefined): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lineMap ? (lineMap[lo] ?? lineMap[lineMap.length - 1] ?? lo + 1) : lo + 1;
  };
}

/**
 * Parses one YAML text (already ERB-rendered). `lineMap` maps rendered lines
 * back to template lines, so lines are those of the file the user edits.
 */
export function readYaml(text: string, lineMap?: number[]): YamlReadResult {
  const lineOf = lineLookup(text, lineMap);
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      schema: 'failsafe',
      merge: false,
      uniqueKeys: false,
      prettyErrors: false,
      strict: false,
      keepSourceTokens: false,
    }) as unknown as Document.Parsed[];
  } catch (error) {
    const message =
      error instanceof RangeError
        ? 'the YAML is nested too deeply to read'
        : `the YAML cannot be read (${(error as Error).message})`;
    return { value: null, lines: new Map(), errors: [{ message }], warnings: [] };
  }
  if (!Array.isArray(docs)) docs = [docs as unknown as Document.Parsed];
  const doc = docs[0];
  if (!doc) return { value: null, lines: new Map(), errors: [], warnings: [] };
  if (doc.errors.length > 0) {
    const errors = doc.errors.slice(0, 5).map((e) => ({
      line: e.pos ? lineOf(e.pos[0]) : undefined,
      message: `the YAML is not valid: ${yamlErrorSentence(e.message)}`,
    }));
    return { value: null, lines: new Map(), errors, warnings: [] };
  }
  const converter = new Converter(doc, lineOf);
  let value: YamlValue;
  try {
    value = converter.convert(doc.contents as ParsedNode | null, [], 0);
  } catch (error) {
    if (error instanceof RangeError)
      return {
        value: null,
        lines: new Map(),
        errors: [{ message: 'the YAML is nested too deeply to read' }],
        warnings: [],
      };
    throw error;
  }
  return { value, lines: converter.lines, errors: converter.errors, warnings: converter.warnings };
}

/** The yaml package's messages can span lines with a code excerpt; keep the first sentence. */
function yamlErrorSentence(message: string): string {
  const first = message.split('\n')[0]!.trim();
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}
