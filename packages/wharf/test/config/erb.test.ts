import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErbError, renderErb, type ErbContext } from '../../src/config/erb.js';

function ctx(env: Record<string, string> = {}, commands: Record<string, string> = {}): ErbContext {
  return {
    env,
    runCommand: (c) => {
      if (c in commands) return commands[c]!;
      throw new Error(`it exited with status 1`);
    },
    readFile: (p) => {
      if (p === 'VERSION') return '1.2.3\n';
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    },
    fileExists: (p) => p === 'VERSION',
  };
}
const render = (t: string, env: Record<string, string> = {}, commands: Record<string, string> = {}) =>
  renderErb(t, ctx(env, commands)).text;

function erbError(fn: () => unknown): ErbError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ErbError, `expected ErbError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an ErbError');
}

test('text without tags is returned untouched', () => {
  assert.equal(render('a: 1\nb: "<% not erb"'.replace('<%', '<')), 'a: 1\nb: "< not erb"');
});

test('ENV lookups: [] with either quote, fetch with and without default, fetch with a block', () => {
  const env = { A: 'alpha', EMPTY: '' };
  assert.equal(render('<%= ENV["A"] %>|<%= ENV[\'A\'] %>|<%= ENV["MISSING"] %>|', env), 'alpha|alpha||');
  assert.equal(
    render('<%= ENV.fetch("A") %> <%= ENV.fetch("B", "dflt") %> <%= ENV.fetch("B") { "blk" } %>', env),
    'alpha dflt blk',
  );
  assert.equal(render('<%= ENV.fetch("EMPTY", "x") %>.', env), '.');
  assert.equal(render('<%= ENV.key?("A") %> <%= ENV.key?("B") %>', env), 'true false');
});

test('a missing ENV.fetch names the variable and the line', () => {
  const e = erbError(() => render('a: 1\nb: <%= ENV.fetch("NOPE") %>\n'));
  assert.equal(e.line, 2);
  assert.match(e.message, /environment variable NOPE is not set/);
});

test('operators: ||, &&, !, ==, !=, ternary, + on strings, presence', () => {
  const env = { A: 'a', E: '' };
  assert.equal(render('<%= ENV["X"] || "fallback" %>', env), 'fallback');
  assert.equal(render('<%= ENV["E"].presence || "blank" %>', env), 'blank');
  assert.equal(render('<%= ENV["A"] && "both" %>', env), 'both');
  assert.equal(
    render('<%= !ENV["X"] %> <%= ENV["A"] == "a" %> <%= ENV["A"] != "a" %>', env),
    'true true false',
  );
  assert.equal(render('<%= ENV["A"] == "a" ? "yes" : "no" %>', env), 'yes');
  assert.equal(render('<%= "x-" + ENV["A"] + "-y" %>', env), 'x-a-y');
  assert.equal(render('<%= "#{ENV["A"]}-#{1 + 2}" %>', env), 'a-3');
});

test('string methods real configs use', () => {
  assert.equal(
    render(
      '<%= "  Hi  ".strip.downcase %>|<%= "a,b".split(",").join(" ") %>|<%= "x\n".chomp %>|<%= "abc".upcase %>',
    ),
    'hi|a b|x|ABC',
  );
  assert.equal(render('<%= "web-1".start_with?("web") %> <%= "a".nil? %> <%= nil.to_s %>.'), 'true false .');
  assert.equal(render('<%= %w[a b c].map(&:upcase).join %>'), 'ABC');
});

test('if / elsif / else / unless / end, and the postfix if', () => {
  const t = '<% if ENV["D"] == "prod" %>P<% elsif ENV["D"] == "stage" %>S<% else %>O<% end %>';
  assert.equal(render(t, { D: 'prod' }), 'P');
  assert.equal(render(t, { D: 'stage' }), 'S');
  assert.equal(render(t, {}), 'O');
  assert.equal(render('<% unless ENV["X"] %>no x<% end %>'), 'no x');
  assert.equal(render('<%= "shown" if ENV["X"] %>.'), '.');
  assert.equal(render('<%= "shown" unless ENV["X"] %>.'), 'shown.');
});

test('trim mode "-": -%> eats the newline and <%- eats the indentation', () => {
  const t = 'list:\n<% if true -%>\n  - a\n<% end -%>\n  <%- if false -%>\n  - b\n  <%- end -%>\nend: 1\n';
  assert.equal(render(t), 'list:\n  - a\nend: 1\n');
  // Without the dash the tag line stays as an empty line, as in Ruby.
  assert.equal(render('a\n<% if true %>\nb\n<% end %>\n'), 'a\n\nb\n\n');
});

test('local variables and each loops', () => {
  assert.equal(render('<% hosts = ["a", "b"] %><% hosts.each do |h| %>- <%= h %>\n<% end %>'), '- a\n- b\n');
  assert.equal(
    render('<% %w[x y].each_with_index do |v, i| -%>\n<%= i %>=<%= v %>\n<% end -%>\n'),
    '0=x\n1=y\n',
  );
});

test('%x(), %x{} and backticks run commands; interpolation is applied first', () => {
  const commands = { 'aws ecr get-login-password': 'tok\n', 'echo a': 'a\n', 'echo prod': 'prod\n' };
  assert.equal(render('<%= %x(aws ecr get-login-password) %>', {}, commands), 'tok\n');
  assert.equal(render('<%= %x{echo a}.strip %>', {}, commands), 'a');
  assert.equal(render('<%= `echo #{ENV["D"]}`.strip %>', { D: 'prod' }, commands), 'prod');
});

test('a failing command is an error at its line, not an empty value', () => {
  const e = erbError(() => render('x: 1\n\npassword: <%= %x(false) %>\n'));
  assert.equal(e.line, 3);
  assert.match(e.message, /`false` failed/);
});

test('File.read and File.exist?', () => {
  assert.equal(
    render('<%= File.read("VERSION").strip %> <%= File.exist?("VERSION") %> <%= File.exist?("NO") %>'),
    '1.2.3 true false',
  );
  assert.match(erbError(() => render('<%= File.read("NO") %>')).message, /no such file/);
});

test("Kamal::Utils.docker_arch and Kamal::VERSION, as Kamal's own fixtures use them", () => {
  const r = renderErb(
    'arch: <%= Kamal::Utils.docker_arch == "arm64" ? "amd64" : "arm64" %> v<%= Kamal::VERSION %>',
    { ...ctx(), dockerArch: () => 'arm64' },
  );
  assert.equal(r.text, 'arch: amd64 v2.12.0');
  assert.match(erbError(() => render('<%= Kamal::Configuration.new %>')).message, /Kamal::Configuration/);
  assert.match(
    erbError(() => render('<%= Kamal::Utils.escape_shell_value("x") %>')).message,
    /escape_shell_value/,
  );
});

test('comments and <%% are handled', () => {
  assert.equal(render('a<%# ignored %>b <%%= literal %>'), 'ab <%= literal %>');
});

test('anything outside the subset is an error naming the line', () => {
  const cases: [string, RegExp][] = [
    ['a\n<%= Rails.env %>', /constant `Rails`/],
    ['<% require "dotenv" %>', /`require` is outside/],
    ['<%= @x %>', /`@x` variables/],
    ['<%= foo %>', /`foo` is not a variable/],
    ['<%= system("rm -rf /") %>', /`system`|calling `system/],
    ['<%= ENV.to_h %>', /ENV.to_h/],
    ['<%= "a".frobnicate %>', /method `frobnicate`/],
    ['<%= 1 +  %>', /unexpected/],
    ['<% if true %>never closed', /never closed/],
    ['<%= "unterminated %>', /never closed/],
    ['text <%= 1', /never closed/],
    ['<%= "a" =~ /x/ %>', /outside|unexpected/],
  ];
  for (const [template, pattern] of cases) {
    const e = erbError(() => render(template));
    assert.match(e.message, pattern, template);
    assert.ok(e.line >= 1);
  }
  assert.equal(erbError(() => render('a\nb\n<%= Rails.env %>')).line, 3);
});

test('lineMap points rendered lines back at template lines', () => {
  // The output tag spans template lines 5-6 (a newline inside its string literal), so d: 4 is on line 7.
  const r = renderErb('a: 1\n<% if true -%>\nb: 2\n<% end -%>\nc: <%= "x\ny" %>\nd: 4\n', ctx());
  assert.equal(r.text, 'a: 1\nb: 2\nc: x\ny\nd: 4\n');
  assert.deepEqual(r.lineMap!.slice(0, 5), [1, 3, 5, 5, 7]);
});
