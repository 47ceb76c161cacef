// Thousands of mutated configurations: wrong types, unknown keys, typos,
// broken YAML, deep nesting, huge values. None may crash with anything but a
// ConfigError, none may hang, and every problem is one sentence naming a key
// or a line. Deterministic: the mutations come from a seeded generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  ConfigError,
  formatProblem,
  kamalConfigYaml,
  loadConfigFromSources,
} from '../../src/config/index.js';
import { readYaml, type YamlValue } from '../../src/config/yaml-reader.js';
import { FIXTURES, summarize } from './support/corpus.js';
import { project } from './support/tmp.js';

const CASES = 2000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds: string[] = [];
for (const fixture of readdirSync(FIXTURES).sort()) {
  for (const f of ['config/deploy.yml', 'config/deploy.staging.yml']) {
    const p = join(FIXTURES, fixture, f);
    if (existsSync(p)) seeds.push(readFileSync(p, 'utf8'));
  }
}

type Json = YamlValue;
const isHash = (v: unknown): v is Record<string, Json> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function deepNest(n: number): Json {
  let v: Json = 'bottom';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

const WRONG: (() => Json)[] = [
  () => 42,
  () => -1,
  () => 1.5,
  () => true,
  () => null,
  () => 'a string',
  () => [],
  () => ({}),
  () => [1, { a: [] }],
  () => 'x'.repeat(30_000),
  () => deepNest(60),
  () => Array.from({ length: 500 }, (_, i) => `host-${i}`),
  () => ({ clear: 'x', secret: {}, tags: [] }),
  () => ({ 'x-a': 1 }),
];

function paths(
  v: Json,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (out.length > 400) return out;
  if (Array.isArray(v)) v.forEach((c, i) => (out.push([...prefix, i]), paths(c, [...prefix, i], out)));
  else if (isHash(v))
    for (const [k, c] of Object.entries(v)) (out.push([...prefix, k]), paths(c, [...prefix, k], out));
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): void {
  let cur: Json = root;
  for (const p of path.slice(0, -1)) cur = (cur as Record<string, Json>)[p as string]!;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete (cur as Record<string, Json>)[last as string];
  } else (cur as Record<string, Json>)[last as string] = value;
}

function typo(word: string, r: () => number): string {
  if (word.length < 2) return `${word}x`;
  const i = Math.floor(r() * (word.length - 1));
  switch (Math.floor(r() * 3)) {
    case 0:
      return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    default:
      return word.slice(0, i) + 'z' + word.slice(i);
  }
}

const JUNK = [
  ':',
  '[',
  '{',
  '- ',
  '"',
  "'",
  '&a ',
  '*a',
  '!!',
  '%',
  '<%',
  '%>',
  '\t',
  '\n  ',
  '#',
  '|',
  '>',
  '? ',
  '---\n',
  '\u0000',
  'é',
  '<%= ENV["X"] %>',
  '<% if %>',
];

const parsedSeeds = new Map<string, Json>();

function mutate(r: () => number): string {
  const seed = seeds[Math.floor(r() * seeds.length)]!;
  const kind = Math.floor(r() * 10);
  if (kind < 5) {
    if (!parsedSeeds.has(seed)) parsedSeeds.set(seed, readYaml(seed.replace(/<%[^%]*%>/g, 'erb')).value);
    const value = structuredClone(parsedSeeds.get(seed)!);
    if (!isHash(value)) return seed;
    const ps = paths(value);
    const path = ps[Math.floor(r() * ps.length)] ?? ['service'];
    const steps = 1 + Math.floor(r() * 3);
    for (let s = 0; s < steps; s++) {
      const p = ps[Math.floor(r() * ps.length)] ?? path;
      try {
        switch (Math.floor(r() * 4)) {
          case 0:
            setAt(value, p, WRONG[Math.floor(r() * WRONG.length)]!());
            break;
          case 1: {
            const parent = p.slice(0, -1);
            let cur: Json = value;
            for (const q of parent) cur = (cur as Record<string, Json>)[q as string]!;
            if (isHash(cur)) cur[typo(String(p[p.length - 1]), r)] = WRONG[Math.floor(r() * WRONG.length)]!();
            break;
          }
          case 2:
            setAt(value, p, undefined);
            break;
          default:
            value[typo(Object.keys(value)[Math.floor(r() * Object.keys(value).length)] ?? 'service', r)] =
              'oops';
        }
      } catch {
        // the path vanished in an earlier step; keep going
      }
    }
    // Half as block YAML, half as JSON (which is YAML too, on few lines).
    return r() < 0.5
      ? stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 })
      : JSON.stringify(value, null, 1);
  }
  const lines = seed.split('\n');
  const at = Math.floor(r() * lines.length);
  switch (kind) {
    case 5:
      lines.splice(at, 1);
      return lines.join('\n');
    case 6: {
      const pos = Math.floor(r() * seed.length);
      return seed.slice(0, pos) + JUNK[Math.floor(r() * JUNK.length)] + seed.slice(pos);
    }
    case 7:
      return seed.slice(0, Math.floor(r() * seed.length));
    case 8:
      lines[at] = ' '.repeat(Math.floor(r() * 7)) + (lines[at] ?? '').trimStart();
      return lines.join('\n');
    default: {
      const other = Math.floor(r() * lines.length);
      [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
      return lines.join('\n');
    }
  }
}

test(
  `${CASES} mutated configurations never crash, never hang, and explain themselves`,
  { timeout: 120_000 },
  () => {
    const r = rng(20261126);
    const cwd = project({ README: 'fuzz\n' });
    let accepted = 0;
    let rejected = 0;
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const text = mutate(r);
      const started = performance.now();
      try {
        const config = loadConfigFromSources([{ file: 'config/deploy.yml', text }], {
          cwd,
          version: '1',
          env: {},
          allowCommands: false,
          localArch: 'amd64',
        });
        // Every derived helper must work on whatever was accepted.
        kamalConfigYaml(config);
        JSON.stringify(summarize(config));
        accepted++;
      } catch (error) {
        if (!(error instanceof ConfigError)) {
          assert.fail(
            `case ${i} crashed with ${(error as Error)?.stack ?? String(error)}\n--- config ---\n${text.slice(0, 2000)}`,
          );
        }
        rejected++;
        assert.ok(error.problems.length > 0);
        for (const problem of error.problems) {
          const line = formatProblem(problem);
          assert.ok(
            problem.line !== undefined || problem.path.length > 0,
            `case ${i}: names neither a key nor a line: ${line}`,
          );
          assert.doesNotMatch(line, /\n/, `case ${i}: more than one line: ${line}`);
          assert.match(line, /[.?]$/, `case ${i}: not a sentence: ${line}`);
          assert.doesNotMatch(
            line,
            /undefined|\[object Object\]|NaN(?!\w)/,
            `case ${i}: leaks internals: ${line}`,
          );
          assert.ok(line.length < 700, `case ${i}: message too long: ${line.slice(0, 200)}...`);
        }
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    assert.ok(accepted > 0 && rejected > CASES / 2, `accepted ${accepted}, rejected ${rejected}`);
    // Not a timing assertion: a generous ceiling that only a hang or a blow-up would cross.
    assert.ok(slowest < 20_000, `one case took ${Math.round(slowest)} ms`);
  },
);
