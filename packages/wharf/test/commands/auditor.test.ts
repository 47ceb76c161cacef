// Audit log lines, checked against Kamal's test/commands/auditor_test.rb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Auditor, commandLine } from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  builder: { arch: 'amd64' },
  servers: ['1.1.1.1'],
};
const stamp = { performer: 'dev@example.com', at: new Date('2026-11-26T23:04:16.5Z') };
const RECORDED = '2026-11-26T23:04:16Z';

async function auditor(destination?: string, details: Record<string, string> = {}): Promise<Auditor> {
  return new Auditor(await load(BASE, { version: '123', destination }), stamp, details);
}

test('record', async () => {
  // prettier-ignore
  assert.deepEqual((await auditor()).record('app removed container'), [
    'mkdir', '-p', '.kamal', '&&', 'echo', `"[${RECORDED}] [dev@example.com] app removed container"`, '>>', '.kamal/app-audit.log',
  ]);
});

test('record with destination', async () => {
  // prettier-ignore
  assert.deepEqual((await auditor('staging')).record('app removed container'), [
    'mkdir', '-p', '.kamal', '&&', 'echo', `"[${RECORDED}] [dev@example.com] [staging] app removed container"`, '>>', '.kamal/app-staging-audit.log',
  ]);
});

test('record with command details', async () => {
  // prettier-ignore
  assert.deepEqual((await auditor(undefined, { role: 'web' })).record('app removed container'), [
    'mkdir', '-p', '.kamal', '&&', 'echo', `"[${RECORDED}] [dev@example.com] [web] app removed container"`, '>>', '.kamal/app-audit.log',
  ]);
});

test('record with arg details', async () => {
  // prettier-ignore
  assert.deepEqual((await auditor()).record('app removed container', { detail: 'value' }), [
    'mkdir', '-p', '.kamal', '&&', 'echo', `"[${RECORDED}] [dev@example.com] [value] app removed container"`, '>>', '.kamal/app-audit.log',
  ]);
});

test('a message with quotes and $ is escaped for the shell', async () => {
  assert.equal(
    commandLine((await auditor()).record('Executed cmd \'echo "$HOME"\' on app version 123')),
    `mkdir -p .kamal && echo "[${RECORDED}] [dev@example.com] Executed cmd 'echo \\"\\$HOME\\"' on app version 123" >> .kamal/app-audit.log`,
  );
});

test('reveal', async () => {
  assert.equal(commandLine((await auditor('staging')).reveal()), 'tail -n 50 .kamal/app-staging-audit.log');
});
