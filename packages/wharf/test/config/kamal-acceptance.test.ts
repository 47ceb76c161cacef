// Differential acceptance test against Kamal itself: every configuration of
// the corpus, every deploy*.yml of Kamal's own test suite, and 250 (WHARF_MUTATIONS to change; WHARF_MUTATION_SEED for another set)
// mutated configurations are loaded by Kamal's Configuration classes (system
// Ruby, kamal-acceptance-oracle.rb) and by wharf; both must accept or both must
// reject, except for the documented deliberate differences. Needs `ruby` with
// activesupport and zeitwerk and Kamal's source (WHARF_KAMAL_LIB, else the git
// mirror at WHARF_KAMAL_MIRROR, default /work/.mirror/basecamp+kamal/repo).
// Skipped, saying why, when those are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { readYaml, type YamlValue } from '../../src/config/yaml-reader.js';
import { listCases } from './support/corpus.js';

const ORACLE = fileURLToPath(new URL('../../../test/config/kamal-acceptance-oracle.rb', import.meta.url));

function kamalSource(): { lib?: string; fixtures?: string; why?: string } {
  if (process.env.WHARF_KAMAL_LIB) {
    const lib = process.env.WHARF_KAMAL_LIB;
    return existsSync(lib)
      ? { lib, fixtures: join(lib, '..', 'test', 'fixtures') }
      : { why: `WHARF_KAMAL_LIB=${lib} does not exist` };
  }
  const mirror = process.env.WHARF_KAMAL_MIRROR ?? '/work/.mirror/basecamp+kamal/repo';
  if (!existsSync(mirror))
    return { why: 'no Kamal source (set WHARF_KAMAL_LIB to the lib/ directory of a Kamal checkout)' };
  const dir = mkdtempSync(join(tmpdir(), 'wharf-kamal-src-'));
  const r = spawnSync(
    'sh',
    ['-c', `git --git-dir="${mirror}" archive HEAD lib test/fixtures | tar -x -C "${dir}"`],
    { encoding: 'utf8' },
  );
  return r.status === 0
    ? { lib: join(dir, 'lib'), fixtures: join(dir, 'test', 'fixtures') }
    : { why: `cannot extract Kamal from ${mirror}: ${r.stderr}` };
}

function stubs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-kamal-stubs-'));
  mkdirSync(join(dir, 'net/ssh/proxy'), { recursive: true });
  const proxy =
    'module Net; module SSH; module Proxy\n  class Jump; def initialize(p); end; end\n  class Command; def initialize(c); end; end\nend; end; end\n';
  writeFileSync(join(dir, 'net/ssh/proxy/jump.rb'), proxy);
  writeFileSync(join(dir, 'net/ssh/proxy/command.rb'), proxy);
  writeFileSync(
    join(dir, 'dotenv.rb'),
    'module Dotenv\n  def self.parse(*files, overwrite: false) = {}\n  module Substitutions; class Command; end; end\n  class Parser; def self.substitutions = (@s ||= [Substitutions::Command]); end\nend\n',
  );
  return dir;
}

interface Case {
  name: string;
  dir: string;
  configFile: string;
  destination?: string;
  env?: Record<string, string>;
}

const source = kamalSource();
const ruby = spawnSync('ruby', ['-e', 'require "active_support"; require "zeitwerk"'], { encoding: 'utf8' });
const skip = !source.lib
  ? source.why
  : ruby.status !== 0
    ? `ruby with activesupport and zeitwerk is not available`
    : false;

/**
 * Configs Kamal's validator lets through that wharf refuses on purpose, each
 * because Kamal would fail later with a worse message (or silently do the wrong thing).
 */
const DELIBERATE: RegExp[] = [
  // proxy host lists take host names only (Kamal's validator reuses the servers check there).
  /proxy\.hosts\[\d+\] should be a string, not a map/,
  // proxy.host is split on commas: Kamal accepts a number there and fails at deploy.
  /proxy\.host should be a host name/,
  // custom certificates name secrets: strings.
  /proxy\.ssl\.(certificate_pem|private_key_pem) should be a string/,
];

/**
 * Configs Kamal crashes on (a Ruby exception, not a validation error) that
 * wharf accepts on purpose. Accessories placed by tag with `servers` as a plain
 * list: Kamal looks for tags only in role lists and then fails on a nil host list.
 */
const KAMAL_CRASHES: RegExp[] = [/NoMethodError: undefined method `include\?' for nil:NilClass/];

async function wharfAccepts(c: Case): Promise<{ ok: boolean; error?: string }> {
  try {
    await loadConfig({
      cwd: c.dir,
      configFile: c.configFile,
      destination: c.destination,
      version: '1',
      env: { PATH: process.env.PATH ?? '', ...(c.env ?? {}) },
      localArch: 'amd64',
    });
    return { ok: true };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error: error.message };
    throw error;
  }
}

function kamalAccepts(cases: Case[]): { ok: boolean; error?: string }[] {
  const input = cases.map((c) => ({
    dir: c.dir,
    config_file: c.configFile,
    destination: c.destination ?? null,
  }));
  const r = spawnSync('ruby', [ORACLE, stubs(), source.lib!], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...cases[0]?.env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { ok: boolean; error?: string }[];
}

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

const WRONG: YamlValue[] = [
  42,
  1.5,
  true,
  false,
  null,
  'text',
  [],
  {},
  ['a'],
  { a: 'b' },
  [{ a: 1 }],
  '30.0',
];
const isHash = (v: unknown): v is Record<string, YamlValue> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function allPaths(
  v: YamlValue,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((c, i) => (out.push([...prefix, i]), allPaths(c, [...prefix, i], out)));
  else if (isHash(v))
    for (const [k, c] of Object.entries(v)) (out.push([...prefix, k]), allPaths(c, [...prefix, k], out));
  return out;
}

/** Mutated configs without ERB (Kamal would run Ruby there), written as files. */
function mutations(count: number): Case[] {
  const seeds: YamlValue[] = [];
  for (const c of listCases()) {
    if (c.spec.expect !== 'resolved' || c.spec.options.destination || c.spec.options.env) continue;
    const text = readFileSync(join(c.dir, 'config/deploy.yml'), 'utf8');
    if (text.includes('<%')) continue;
    seeds.push(readYaml(text).value);
  }
  const r = rng(Number(process.env.WHARF_MUTATION_SEED ?? 4242));
  const root = mkdtempSync(join(tmpdir(), 'wharf-kamal-mutations-'));
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const value = structuredClone(seeds[Math.floor(r() * seeds.length)]!);
    const paths = allPaths(value);
    const path = paths[Math.floor(r() * paths.length)]!;
    let cur: YamlValue = value;
    for (const p of path.slice(0, -1)) cur = (cur as Record<string, YamlValue>)[p as string]!;
    const last = path[path.length - 1]!;
    const choice = r();
    if (choice < 0.6)
      (cur as Record<string, YamlValue>)[last as string] = WRONG[Math.floor(r() * WRONG.length)]!;
    else if (choice < 0.8 && !Array.isArray(cur)) delete (cur as Record<string, YamlValue>)[last as string];
    else if (isHash(cur)) cur[`${String(last)}x`] = 'extra';
    const dir = join(root, String(i));
    mkdirSync(join(dir, 'config'), { recursive: true });
    writeFileSync(join(dir, 'config/deploy.yml'), stringify(value));
    out.push({ name: `mutation ${i} (${path.join('.')})`, dir, configFile: 'config/deploy.yml' });
  }
  return out;
}

async function compare(cases: Case[]): Promise<string[]> {
  const kamal = kamalAccepts(cases);
  const differences: string[] = [];
  for (const [i, c] of cases.entries()) {
    const ours = await wharfAccepts(c);
    const theirs = kamal[i]!;
    if (ours.ok === theirs.ok) continue;
    if (ours.ok && theirs.error && KAMAL_CRASHES.some((re) => re.test(theirs.error!))) continue;
    if (
      !ours.ok &&
      ours.error &&
      ours.error.split('\n').every((line) => DELIBERATE.some((re) => re.test(line)))
    )
      continue;
    differences.push(
      `${c.name}: Kamal ${theirs.ok ? 'accepts' : `rejects (${theirs.error})`}, wharf ${ours.ok ? 'accepts' : `rejects:\n    ${ours.error!.split('\n').join('\n    ')}`}`,
    );
  }
  return differences;
}

test('the corpus: Kamal and wharf accept and reject the same configurations', { skip }, async () => {
  const cases: Case[] = listCases()
    .filter((c) => !c.spec.options.env && c.spec.options.localArch === undefined)
    .map((c) => ({
      name: `${c.fixture}/${c.spec.name}`,
      dir: c.dir,
      configFile: 'config/deploy.yml',
      destination: c.spec.options.destination,
    }));
  assert.deepEqual(await compare(cases), []);
});

test(
  "Kamal's own test fixtures: same acceptance",
  { skip: skip || (source.fixtures && existsSync(source.fixtures) ? false : 'no Kamal test/fixtures') },
  async () => {
    const fixtures = source.fixtures!;
    const files = readdirSync(fixtures).filter((f) => /^deploy[^.]*\.yml$/.test(f));
    const cases: Case[] = [];
    for (const f of files) {
      cases.push({ name: f, dir: join(fixtures, '..', '..'), configFile: `test/fixtures/${f}` });
      for (const dest of ['world', 'mars']) {
        if (existsSync(join(fixtures, f.replace(/\.yml$/, `.${dest}.yml`))))
          cases.push({
            name: `${f} -d ${dest}`,
            dir: join(fixtures, '..', '..'),
            configFile: `test/fixtures/${f}`,
            destination: dest,
          });
      }
    }
    assert.ok(cases.length > 40);
    assert.deepEqual(await compare(cases), []);
  },
);

test('mutated configurations: same acceptance', { skip, timeout: 120_000 }, async () => {
  assert.deepEqual(await compare(mutations(Number(process.env.WHARF_MUTATIONS ?? 250))), []);
});
