import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathKey, readYaml, resolvePlainScalar } from '../../src/config/yaml-reader.js';

test('plain scalars are typed as Psych (YAML 1.1) types them', () => {
  const table: [string, unknown][] = [
    ['', null],
    ['~', null],
    ['null', null],
    ['NULL', null],
    ['yes', true],
    ['Yes', true],
    ['ON', true],
    ['true', true],
    ['no', false],
    ['off', false],
    ['False', false],
    ['y', 'y'],
    ['n', 'n'],
    ['yesterday', 'yesterday'],
    ['amd64', 'amd64'],
    ['80', 80],
    ['-12', -12],
    ['0755', 493],
    ['0x1F', 31],
    ['0b101', 5],
    ['1_000', 1000],
    ['1,000', 1000],
    ['40_000_000', 40000000],
    ['0.5', 0.5],
    ['1.', '1.0'],
    ['30.0', '30.0'],
    ['2.50', 2.5],
    ['.inf', Infinity],
    ['-.inf', -Infinity],
    [':verbose', 'verbose'],
    [':"quoted sym"', 'quoted sym'],
    ['1:30', 5400],
    ['5432:5432', '5432:5432'],
    ['127.0.0.1:5432:5432', '127.0.0.1:5432:5432'],
    ['1.1.1.1', '1.1.1.1'],
    ['10m', '10m'],
    ['25%', '25%'],
    ['2024-01-02', '2024-01-02'],
    ['08', '08'],
    ['1e5', '1e5'],
    ['v0.9.2', 'v0.9.2'],
  ];
  for (const [input, expected] of table) assert.deepEqual(resolvePlainScalar(input), expected, input);
  assert.ok(Number.isNaN(resolvePlainScalar('.nan') as number));
});

test('quoted and block scalars stay strings; explicit tags are honoured', () => {
  const r = readYaml('a: "yes"\nb: \'0755\'\nc: |\n  x\nd: !!str 80\ne: !!int "42"\nf: !!bool yes\n');
  assert.deepEqual(r.value, { a: 'yes', b: '0755', c: 'x\n', d: '80', e: 42, f: true });
});

test('Ruby-object tags are refused with the line', () => {
  const r = readYaml('a: 1\nb: !ruby/object:Foo {}\n');
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.line, 2);
  assert.match(r.errors[0]!.message, /not supported/);
});

test('anchors, aliases and << merge keys; merged keys override earlier keys as in Psych', () => {
  const r = readYaml(
    'x: &base\n  a: 1\n  b: 2\ny:\n  b: 9\n  <<: *base\n  c: 3\nz:\n  <<: [*base, {a: 7, d: 4}]\nw: *base\n',
  );
  assert.deepEqual(r.value, {
    x: { a: 1, b: 2 },
    y: { b: 2, a: 1, c: 3 },
    z: { a: 1, d: 4, b: 2 },
    w: { a: 1, b: 2 },
  });
});

test('duplicate keys keep the last value and produce a warning with both lines', () => {
  const r = readYaml('a: 1\nb: 2\na: 3\n');
  assert.deepEqual(r.value, { a: 3, b: 2 });
  assert.equal(r.warnings.length, 1);
  assert.equal(r.warnings[0]!.line, 3);
  assert.match(r.warnings[0]!.message, /appears twice .* line 1/);
});

test('every key and list item has its line', () => {
  const r = readYaml('service: app\nservers:\n  web:\n    - 1.1.1.1\n    - 1.1.1.2\n');
  assert.equal(r.lines.get(pathKey(['service'])), 1);
  assert.equal(r.lines.get(pathKey(['servers', 'web'])), 3);
  assert.equal(r.lines.get(pathKey(['servers', 'web', 1])), 5);
});

test('syntax errors carry a line and a short sentence', () => {
  const r = readYaml('a: 1\nb: [1, 2\nc: 3\n');
  assert.ok(r.errors.length >= 1);
  assert.ok(r.errors[0]!.line! >= 2);
  assert.doesNotMatch(r.errors[0]!.message, /\n/);
});

test('a recursive or undefined alias is an error, not a hang', () => {
  assert.ok(readYaml('a: *nope\n').errors.length >= 1);
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const r = readYaml(`a: ${deep}\n`);
  assert.ok(r.errors.length >= 1);
});

test('exponential alias expansion stays linear (billion laughs)', () => {
  let doc = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 0; i < 8; i++)
    doc += `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
      .fill(`*${String.fromCharCode(97 + i)}`)
      .join(',')}]\n`;
  const started = Date.now();
  const r = readYaml(doc);
  assert.equal(r.errors.length, 0);
  assert.ok(Date.now() - started < 5000);
});

test('only the first document of a multi-document file is read', () => {
  assert.deepEqual(readYaml('a: 1\n---\nb: 2\n').value, { a: 1 });
});
