// Parity check, run by hand: parses generated secrets files with the dotenv
// gem (plus Kamal's command substitution) and with wharf's parser, and lists
// every difference. Expected differences: Ruby raises ENOENT for a missing
// command run without a shell (wharf runs every command through /bin/sh), and
// wharf does not expand $NAME inside command output (the gem does).
//   DOTENV_LIB=/path/to/dotenv/lib KAMAL_LIB=/path/to/kamal/lib node packages/wharf/test/secrets/parity/compare-dotenv.mjs [COUNT]
// Needs ruby and a built wharf (npm run build). Commands in the generated
// files are harmless words (a, b, 0, 1) that the shell does not find.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDotenv } from '../../../dist/src/secrets/dotenv.js';
import { chomp } from '../../../dist/src/secrets/runner.js';

const { DOTENV_LIB, KAMAL_LIB } = process.env;
if (!DOTENV_LIB || !KAMAL_LIB) {
  console.error('set DOTENV_LIB and KAMAL_LIB to the lib/ directories of dotenv 3.x and Kamal');
  process.exit(2);
}
const count = Number(process.argv[2] ?? 1500);
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];
const alphabet = [
  ...'ab01 ',
  '$',
  '$',
  '(',
  ')',
  '(',
  ')',
  '\\',
  '\\',
  "'",
  '"',
  '#',
  '=',
  '\n',
  '{',
  '}',
  ':',
  '.',
  '\t',
  '_',
];
const cases = [];
for (let i = 0; i < count; i++) {
  const lines = [];
  for (let j = 0, n = 1 + Math.floor(random() * 4); j < n; j++) {
    let value = '';
    for (let k = 0, len = Math.floor(random() * 15); k < len; k++) value += pick(alphabet);
    lines.push(
      `${pick(['a', 'b', 'K', 'a_b', 'X.Y', 'export a', '1'])}${pick(['=', '=', ' = ', ': '])}${value}`,
    );
  }
  cases.push({ text: lines.join('\n'), env: { a: 'A', b: 'B', K: 'kk' } });
}
const file = join(mkdtempSync(join(tmpdir(), 'dotenv-parity-')), 'cases.json');
writeFileSync(file, JSON.stringify(cases));
const harness = fileURLToPath(new URL('./dotenv-parser.rb', import.meta.url));
const ruby = JSON.parse(
  spawnSync('ruby', [harness, DOTENV_LIB, KAMAL_LIB, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 28,
  }).stdout,
);
let differences = 0;
cases.forEach((c, i) => {
  let mine;
  try {
    const runCommand = (command) =>
      chomp(
        spawnSync('/bin/sh', ['-c', command], {
          env: c.env,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).stdout,
      );
    mine = { ok: Object.fromEntries(parseDotenv(c.text, { env: c.env, runCommand })) };
  } catch (error) {
    mine = { error: error.name };
  }
  const theirs = ruby[i];
  const bothFailed = 'error' in theirs && 'error' in mine;
  if (!bothFailed && JSON.stringify(theirs) !== JSON.stringify(mine)) {
    differences++;
    console.log(
      JSON.stringify(c.text),
      '\n  ruby ',
      JSON.stringify(theirs),
      '\n  wharf',
      JSON.stringify(mine),
    );
  }
});
console.log(`${cases.length - differences}/${cases.length} parse the same`);
