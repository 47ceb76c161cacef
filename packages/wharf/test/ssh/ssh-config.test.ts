import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshConfig, expandTokens, splitConfigLine } from '../../src/ssh/ssh-config.js';
import { parseJumpSpec, resolveTarget, describeRoute } from '../../src/ssh/target.js';

const CONFIG = `
# global
IdentitiesOnly no

Host web-*  !web-old
  HostName %h.internal.example
  User deploy
  Port 2222
  IdentityFile ~/.ssh/web_key

Host web-1
  HostName ignored.because.first.wins
  IdentityFile "/keys/with space"

Host db
  ProxyJump admin@bastion:2200,inner
  UserKnownHostsFile ~/.ssh/known_db /etc/known_db

Host legacy
  ProxyCommand ssh -o "ProxyCommand none" -W %h:%p jump

Match host=other
  User nobody

Match all
  ConnectTimeout 7
  ServerAliveInterval=15
  IdentityFile ~/.ssh/everyone
`;

describe('ssh config', () => {
  const config = SshConfig.parse(CONFIG, 'cfg', '/home/me');

  test('splits Key Value and Key=Value lines with quotes', () => {
    assert.deepEqual(splitConfigLine('  IdentityFile "/a b/c"  '), {
      keyword: 'identityfile',
      args: ['/a b/c'],
      raw: '"/a b/c"',
    });
    assert.deepEqual(splitConfigLine('Port=22'), { keyword: 'port', args: ['22'], raw: '22' });
    assert.deepEqual(splitConfigLine('Host a b # trailing')?.args, ['a', 'b']);
    assert.equal(splitConfigLine('# only a comment'), undefined);
  });

  test('the first value wins, IdentityFile accumulates, %h expands in HostName', () => {
    const web1 = config.resolve('web-1');
    assert.equal(web1.hostName, 'web-1.internal.example');
    assert.equal(web1.user, 'deploy');
    assert.equal(web1.port, 2222);
    assert.deepEqual(web1.identityFiles, [
      '/home/me/.ssh/web_key',
      '/keys/with space',
      '/home/me/.ssh/everyone',
    ]);
    assert.equal(web1.connectTimeoutSeconds, 7);
    assert.equal(web1.serverAliveIntervalSeconds, 15);
    assert.equal(web1.identitiesOnly, false);
  });

  test('negated Host patterns exclude, unmatched hosts get only the global parts', () => {
    const old = config.resolve('web-old');
    assert.equal(old.hostName, undefined);
    assert.deepEqual(old.identityFiles, ['/home/me/.ssh/everyone']);
  });

  test('ProxyJump, ProxyCommand and UserKnownHostsFile', () => {
    assert.equal(config.resolve('db').proxyJump, 'admin@bastion:2200,inner');
    assert.deepEqual(config.resolve('db').userKnownHostsFiles, ['/home/me/.ssh/known_db', '/etc/known_db']);
    assert.equal(config.resolve('legacy').proxyCommand, 'ssh -o "ProxyCommand none" -W %h:%p jump');
  });

  test('StrictHostKeyChecking values', () => {
    const c = SshConfig.parse(
      'Host a\n StrictHostKeyChecking no\nHost b\n StrictHostKeyChecking accept-new\nHost c\n StrictHostKeyChecking ask\n',
      'cfg',
      '/h',
    );
    assert.equal(c.resolve('a').strictHostKeyChecking, 'no');
    assert.equal(c.resolve('b').strictHostKeyChecking, 'accept-new');
    assert.equal(c.resolve('c').strictHostKeyChecking, 'yes');
    assert.equal(c.resolve('d').strictHostKeyChecking, undefined);
  });

  test('Match criteria other than all and host never match', () => {
    assert.equal(config.resolve('other').user, undefined);
  });

  test('Include reads files relative to ~/.ssh, with wildcards', () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-home-'));
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host inc\n  HostName 10.9.9.9\n');
    writeFileSync(join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost inc\n  HostName not-this\n');
    const loaded = SshConfig.load([join(home, '.ssh', 'config')], home);
    assert.equal(loaded.resolve('inc').hostName, '10.9.9.9');
  });

  test('tokens expand and unknown ones stay', () => {
    assert.equal(
      expandTokens('ssh -W %h:%p %r@jump %% %z', { h: 'web', p: '22', r: 'root' }),
      'ssh -W web:22 root@jump % %z',
    );
  });
});

describe('parseJumpSpec', () => {
  test('host, user@host, :port, [v6]:port and ssh:// forms', () => {
    assert.deepEqual(parseJumpSpec('bastion'), { host: 'bastion' });
    assert.deepEqual(parseJumpSpec('app@bastion'), { user: 'app', host: 'bastion' });
    assert.deepEqual(parseJumpSpec('app@bastion:2200'), { user: 'app', host: 'bastion', port: 2200 });
    assert.deepEqual(parseJumpSpec('[fd00::1]:2200'), { host: 'fd00::1', port: 2200 });
    assert.deepEqual(parseJumpSpec('ssh://root@10.0.0.1:22'), { user: 'root', host: '10.0.0.1', port: 22 });
  });

  test('nonsense is one sentence naming ssh.proxy', () => {
    assert.throws(() => parseJumpSpec('@bastion'), /ssh\.proxy "@bastion" is not a host/);
    assert.throws(() => parseJumpSpec('two words'), /ssh\.proxy/);
  });
});

describe('resolveTarget (Kamal ssh settings + ssh config)', () => {
  const config = SshConfig.parse(CONFIG, 'cfg', '/home/me');
  const env = { SSH_AUTH_SOCK: '/tmp/agent.sock' };

  test('Kamal defaults: root on port 22; config HostName and IdentityFile still apply', () => {
    const t = resolveTarget('web-2', {}, config, { env });
    assert.equal(t.user, 'root');
    assert.equal(t.port, 22);
    assert.equal(t.host, 'web-2.internal.example');
    assert.equal(t.name, 'web-2');
    assert.equal(t.useAgent, true);
    assert.deepEqual(
      t.identities.map((i) => i.label),
      ['/home/me/.ssh/web_key', '/home/me/.ssh/everyone'],
    );
    assert.equal(t.connectTimeoutMs, 7000);
  });

  test('ssh.user, ssh.port, keys, key_data and keys_only', () => {
    const t = resolveTarget(
      '10.0.0.1',
      { user: 'app', port: 2200, keys: ['/k1'], keyData: ['PEM'], keysOnly: true },
      SshConfig.empty(),
      { env },
    );
    assert.equal(t.user, 'app');
    assert.equal(t.port, 2200);
    assert.equal(t.useAgent, false);
    assert.deepEqual(
      t.identities.map((i) => i.label),
      ['/k1', 'ssh.key_data[0]'],
    );
    assert.equal(t.identities[1]!.data, 'PEM');
  });

  test('ssh.proxy: a jump host with root as the default user', () => {
    const t = resolveTarget('10.0.0.2', { proxy: 'bastion.example' }, SshConfig.empty(), { env });
    assert.equal(t.jump?.user, 'root');
    assert.equal(t.jump?.host, 'bastion.example');
    assert.equal(t.jump?.port, 22);
    assert.equal(describeRoute(t), 'root@bastion.example');
    const u = resolveTarget('10.0.0.2', { proxy: 'ops@bastion:2200' }, SshConfig.empty(), { env });
    assert.equal(describeRoute(u), 'ops@bastion:2200');
  });

  test('ssh.proxy_command gets %h %p %r', () => {
    const t = resolveTarget(
      '10.0.0.3',
      { proxyCommand: 'ssh -W %h:%p %r@jump', user: 'app' },
      SshConfig.empty(),
      { env },
    );
    assert.equal(t.proxyCommand, 'ssh -W 10.0.0.3:22 app@jump');
  });

  test('ProxyJump chains from the config: the last hop is reached through the earlier ones', () => {
    const t = resolveTarget('db', {}, config, { env });
    assert.equal(t.jump?.name, 'inner');
    assert.equal(t.jump?.jump?.name, 'bastion');
    assert.equal(t.jump?.jump?.user, 'admin');
    assert.equal(t.jump?.jump?.port, 2200);
    assert.deepEqual(t.knownHostsFiles, ['/home/me/.ssh/known_db', '/etc/known_db']);
  });

  test('Kamal ssh.proxy wins over the config ProxyJump', () => {
    const t = resolveTarget('db', { proxy: 'other' }, config, { env });
    assert.equal(t.jump?.name, 'other');
    assert.equal(t.jump?.jump, undefined);
  });
});
