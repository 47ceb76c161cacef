import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor } from '../../src/secrets/redactor.js';

test('replaces every known value of 4+ characters, longest first', () => {
  const r = new Redactor();
  r.addAll(['abc', 'secret', 'secret-longer', '']);
  assert.equal(r.redact('abc secret secret-longer xsecretx'), 'abc [REDACTED] [REDACTED] x[REDACTED]x');
  r.add(undefined);
  r.add(null);
  assert.equal(r.redact(''), '');
});

test('catches JSON-escaped, shell-escaped and per-line spellings', () => {
  const r = new Redactor();
  r.add('pa"ss word');
  r.add('-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n');
  assert.equal(r.redact('{"p":"pa\\"ss word"}'), '{"p":"[REDACTED]"}');
  assert.equal(r.redact('login -p pa\\"ss\\ word'), 'login -p [REDACTED]');
  assert.equal(r.redact('line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'), 'line: [REDACTED]');
});

test('values with regular-expression characters are matched literally', () => {
  const r = new Redactor();
  r.addAll({ A: 'a.b*c(d)[e]$', B: 'x|y/z\\w' });
  assert.equal(r.redact('a.b*c(d)[e]$ and axbbc and x|y/z\\w'), '[REDACTED] and axbbc and [REDACTED]');
});
