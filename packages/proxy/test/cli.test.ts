import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main, deployArgsFromFlags, deployFlags } from '../src/cli/main.js';
import { parseFlags, splitList } from '../src/cli/flags.js';
import { parseDuration, formatDuration } from '../src/duration.js';
import { startBackend } from './support/backend.js';
import { request, startTestProxy } from './support/proxy.js';

function capture(): { io: { out(t: string): void; err(t: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}

test('Go durations parse and print like kamal-proxy', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('0'), 0);
  assert.throws(
    () => parseDuration('30', 'deploy-timeout'),
    /invalid argument "30" for "--deploy-timeout" flag/,
  );
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(300), '300ms');
});

test('flags follow pflag rules: =value, separate value, bool forms, repeated and comma slices', () => {
  const specs = [
    { name: 'target', type: 'strings' as const, default: [] as string[], help: '' },
    { name: 'tls', type: 'bool' as const, default: false, help: '' },
    { name: 'strip', type: 'bool' as const, default: true, help: '' },
    { name: 'timeout', type: 'duration' as const, default: 1000, help: '' },
    { name: 'message', type: 'string' as const, default: '', help: '' },
  ];
  const f = parseFlags(
    [
      'svc',
      '--target=a:80,b:80',
      '--target',
      'c:80',
      '--tls',
      '--strip=false',
      '--timeout',
      '2s',
      '--message=hi, there',
    ],
    specs,
  );
  assert.deepEqual(f.positional, ['svc']);
  assert.deepEqual(f.values.get('target'), ['a:80', 'b:80', 'c:80']);
  assert.equal(f.values.get('tls'), true);
  assert.equal(f.values.get('strip'), false);
  assert.equal(f.values.get('timeout'), 2000);
  assert.equal(f.values.get('message'), 'hi, there');
  assert.throws(() => parseFlags(['--nope'], specs), /unknown flag: --nope/);
  assert.throws(() => parseFlags(['--message'], specs), /flag needs an argument: --message/);
  assert.deepEqual(splitList('"a,b",c'), ['a,b', 'c']);
});

test('deploy flags map to kamal-proxy defaults and validation', () => {
  const parse = (argv: string[]) => deployArgsFromFlags('app', parseFlags(argv, deployFlags()));
  const d = parse(['--target=web-1:3000']);
  assert.deepEqual(d.targets, ['web-1:3000']);
  assert.equal(d.deployment.deployTimeoutMs, 30_000);
  assert.equal(d.deployment.drainTimeoutMs, 30_000);
  assert.equal(d.targetOptions.healthCheck.path, '/up');
  assert.equal(d.targetOptions.healthCheck.intervalMs, 1_000);
  assert.equal(d.targetOptions.healthCheck.timeoutMs, 5_000);
  assert.equal(d.targetOptions.responseTimeoutMs, 30_000);
  assert.equal(d.targetOptions.maxMemoryBufferSize, 1_048_576);
  assert.equal(d.serviceOptions.writerAffinityTimeoutMs, 1_000);
  assert.equal(d.serviceOptions.stripPrefix, true);
  assert.equal(d.serviceOptions.tlsRedirect, true);
  assert.equal(d.targetOptions.forwardHeaders, true, 'forward headers default on without TLS');
  const certFlags = ['--tls-certificate-path=/c.pem', '--tls-private-key-path=/k.pem'];
  const tls = parse(['--target=a:1', '--host=example.com', '--tls', '--tls-staging', ...certFlags]);
  assert.equal(tls.targetOptions.forwardHeaders, false, 'forward headers default off with TLS');
  assert.match(tls.serviceOptions.acmeDirectory, /acme-staging-v02/);
  assert.equal(
    parse(['--target=a:1', '--tls', '--host=x.com', '--forward-headers', ...certFlags]).targetOptions
      .forwardHeaders,
    true,
  );
  const acme = parse(['--target=a:1', '--tls', '--host=x.com']);
  assert.equal(acme.serviceOptions.tlsEnabled, true, 'ACME TLS without a certificate is accepted');
  assert.equal(acme.serviceOptions.acmeDirectory, '', "ACME directory defaults to Let's Encrypt production");
  // Kamal's own invocation.
  const kamal = parse([
    '--target=172.1.0.2:80',
    '--host=example.com',
    '--host=anotherexample.com',
    '--deploy-timeout=30s',
    '--drain-timeout=30s',
    '--buffer-requests',
    '--buffer-responses',
    '--log-request-header=Cache-Control',
    '--log-request-header=Last-Modified',
    '--log-request-header=User-Agent',
  ]);
  assert.deepEqual(kamal.serviceOptions.hosts, ['example.com', 'anotherexample.com']);
  assert.deepEqual(kamal.targetOptions.logRequestHeaders, ['Cache-Control', 'Last-Modified', 'User-Agent']);
  assert.equal(kamal.targetOptions.bufferRequests, true);
  assert.throws(() => parse(['--target=a:1', '--tls']), /TLS needs at least one --host/);
  assert.throws(
    () => parse(['--target=a:1', '--tls-certificate-path=/c.pem']),
    /tls-certificate-path tls-private-key-path/,
  );
  assert.throws(() => parse(['--target=a:1', '--host=a.com', '--canonical-host=b.com']), /canonical host/);
  assert.throws(
    () => parse(['--target=a:1', '--max-response-body=5']),
    /max-response-body can only be set when response buffering is enabled/,
  );
});

test('CLI deploy, list, pause/resume, rollout and remove over the control socket', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  const previous = process.env['KAMAL_PROXY_SOCKET'];
  process.env['KAMAL_PROXY_SOCKET'] = proxy.socketPath!;
  try {
    let c = capture();
    let code = await main(
      [
        'deploy',
        'app',
        `--target=${backend.name}`,
        '--host=example.com',
        '--deploy-timeout=5s',
        '--health-check-interval=50ms',
      ],
      c.io,
    );
    assert.equal(code, 0, c.err.join(''));
    assert.equal((await request(proxy.httpPort, '/', { host: 'example.com' })).body, 'v1 GET /');

    c = capture();
    assert.equal(await main(['ls'], c.io), 0);
    const table = c.out.join('').replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(table, /^Service\s+Host\s+Path\s+Target\s+State\s+TLS/);
    assert.match(
      table,
      new RegExp(`app\\s+example\\.com\\s+/\\s+${backend.name.replace(/\./g, '\\.')}\\s+running\\s+no`),
    );

    assert.equal(await main(['pause', 'app', '--drain-timeout=1s', '--max-pause=2s'], capture().io), 0);
    assert.equal(proxy.router.services.get('app')!.pause.state, 'paused');
    assert.equal(await main(['resume', 'app'], capture().io), 0);
    assert.equal(await main(['stop', 'app', '--message', 'Back soon'], capture().io), 0);
    const stopped = await request(proxy.httpPort, '/', { host: 'example.com' });
    assert.equal(stopped.status, 503);
    assert.match(stopped.body, /Back soon/);
    assert.equal(await main(['resume', 'app'], capture().io), 0);

    c = capture();
    assert.equal(await main(['rollout', 'set', 'app', '--percent=10'], c.io), 1);
    assert.match(c.err.join(''), /^Error: rollout target not set for service app/);

    c = capture();
    code = await main(['deploy', 'app', `--target=${backend.name}`, '--max-request-body=10'], c.io);
    assert.equal(code, 1);
    assert.equal(
      c.err.join(''),
      'Error: max-request-body can only be set when request buffering is enabled\n',
    );

    c = capture();
    assert.equal(await main(['deploy', 'app'], c.io), 1);
    assert.match(c.err.join(''), /required flag\(s\) "target" not set/);

    assert.equal(await main(['rm', 'app'], capture().io), 0);
    assert.equal((await request(proxy.httpPort, '/', { host: 'example.com' })).status, 404);
  } finally {
    if (previous === undefined) delete process.env['KAMAL_PROXY_SOCKET'];
    else process.env['KAMAL_PROXY_SOCKET'] = previous;
    await proxy.stop();
    await backend.close();
  }
});

test('CLI reports an unreachable proxy in one sentence', async () => {
  const previous = process.env['KAMAL_PROXY_SOCKET'];
  process.env['KAMAL_PROXY_SOCKET'] = '/nonexistent/kamal-proxy.sock';
  try {
    const c = capture();
    assert.equal(await main(['list'], c.io), 1);
    assert.match(
      c.err.join(''),
      /^Error: cannot reach the proxy at \/nonexistent\/kamal-proxy\.sock: start it with `wharf-proxy run`/,
    );
  } finally {
    if (previous === undefined) delete process.env['KAMAL_PROXY_SOCKET'];
    else process.env['KAMAL_PROXY_SOCKET'] = previous;
  }
});

test('unknown commands and help', async () => {
  let c = capture();
  assert.equal(await main(['frobnicate'], c.io), 1);
  assert.match(c.err.join(''), /unknown command "frobnicate"/);
  c = capture();
  assert.equal(await main(['deploy', '--help'], c.io), 0);
  const help = c.out.join('');
  for (const flag of [
    '--target',
    '--read-target',
    '--host',
    '--path-prefix',
    '--tls-certificate-path',
    '--buffer-memory',
    '--writer-affinity-timeout',
    '--forward-headers',
  ]) {
    assert.ok(help.includes(flag), `help mentions ${flag}`);
  }
  assert.match(
    help,
    /--deploy-timeout duration\s+Maximum time to wait for the new target to become healthy \(default 30s\)/,
  );
});
