/**
 * End-to-end: asset bridging (asset_path) and custom error pages
 * (error_pages_path) through two deploys of a copy of examples/hello on a
 * 1-server fleet (fleet `polish`, registry port 5682). The app serves
 * /assets/* from /app/public/assets, which asset_path bridges between
 * versions: a page of the old version that asks for its fingerprinted asset
 * after the new version took over still gets it, from the new container.
 * On the same deploy: `app exec --raw`, `proxy boot_config set|get|reset`
 * and `upgrade` (Kamal 1 → 2) with a stand-in Traefik container.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { appProject, type AppProject } from '../support/app-project.js';
import { fleetUp, sshRun, wharf, type CliResult, type TestFleet } from '../support/fleet.js';

/** hello's server plus /assets/* from /app/public/assets, with the serving version in a header. */
function withAssets(server: string): string {
  return server
    .replace(
      "import { createServer } from 'node:http';",
      "import { createServer } from 'node:http';\nimport { readFile } from 'node:fs/promises';",
    )
    .replace(
      "  if (url.pathname === '/up') {",
      `  if (url.pathname.startsWith('/assets/')) {
    return readFile(new URL('./public' + url.pathname, import.meta.url)).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'text/css', 'x-version': version });
        res.end(body);
      },
      () => {
        res.writeHead(404, { 'x-version': version });
        res.end('no such asset\\n');
      },
    );
  }
  if (url.pathname === '/up') {`,
    );
}

const MAINTENANCE_PAGE =
  '<html><body><p>polish maintenance{{ if .Message }}: {{ .Message }}{{ end }}</p></body></html>\n';

describe('asset bridging and error pages on the fleet', () => {
  let fleet: TestFleet;
  let app: AppProject;
  let address: string;
  const run = (args: string[]): CliResult => wharf(args, { cwd: app.dir, env: app.env });
  const ok = (args: string[]): CliResult => {
    const result = run(args);
    assert.equal(result.code, 0, `wharf ${args.join(' ')} failed: ${result.stderr}`);
    return result;
  };
  const onServer = (command: string) => {
    const r = sshRun(fleet, address, command);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  /** GET through wharf-proxy on a new connection each time (a reused keep-alive socket may have been closed by a proxy reboot). */
  const get = (path: string) =>
    new Promise<{ status: number; version: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: address, port: 80, path, agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            version: res.headers['x-version'] as string | undefined,
            body,
          }),
        );
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });

  before(() => {
    fleet = fleetUp('polish', 1, 5682);
    address = fleet.servers[0]!.address;
    app = appProject(fleet, undefined, {
      files: {
        'public/assets/app-one.css': 'body { color: one }\n',
        'errors/503.html': MAINTENANCE_PAGE,
        'errors/README.md': 'not an error page\n',
      },
      edit: {
        'server.mjs': withAssets,
        Dockerfile: (t) => t.replace('COPY server.mjs ./', 'COPY server.mjs ./\nCOPY public ./public'),
        'config/deploy.yml': (t) =>
          t.replace(/^ {4}- .*WHARF_FLEET_HOST_2.*\n/m, '') +
          '\nasset_path: /app/public/assets\nerror_pages_path: errors\n',
      },
    });
    app.env.WHARF_HOME = mkdtempSync(join(tmpdir(), 'wharf-home-'));
  });

  after(() => {
    fleet?.down();
  });

  test("first deploy: the version's assets are served from the mounted asset volume", async () => {
    const v1 = app.head();
    ok(['deploy', '-q']);
    const css = await get('/assets/app-one.css');
    assert.equal(css.status, 200);
    assert.equal(css.version, v1);
    assert.equal(css.body, 'body { color: one }\n');
    const mounts = onServer(`docker inspect hello-web-${v1} --format '{{json .Mounts}}'`);
    assert.match(mounts, new RegExp(`assets/volumes/web-${v1}","Destination":"/app/public/assets"`));
    assert.equal(onServer(`ls .kamal/proxy/apps-config/hello/error_pages/${v1}`), '503.html');
  });

  test("second deploy: the old version's asset is still served, by the new container; old copies are removed", async () => {
    const v1 = app.head();
    const v2 = app.change(
      { 'public/assets/app-one.css': null, 'public/assets/app-two.css': 'body { color: two }\n' },
      'assets of version two',
    );
    ok(['deploy', '-q']);
    assert.equal((await get('/')).body.includes(v2), true);
    const two = await get('/assets/app-two.css');
    assert.deepEqual([two.status, two.version], [200, v2]);
    // A page rendered by v1 just before the switch asks for app-one.css: v2 serves it from the bridged volume.
    const one = await get('/assets/app-one.css');
    assert.deepEqual([one.status, one.version, one.body], [200, v2, 'body { color: one }\n']);
    // Not part of v2's image: only the volume has it.
    assert.equal(
      onServer(`docker exec hello-web-${v2} ls /app/public/assets`).split('\n').sort().join(' '),
      'app-one.css app-two.css',
    );
    // After the old container stopped, only v2's extracted assets, volume and error pages are left.
    assert.equal(onServer('ls .kamal/apps/hello/assets/extracted'), `web-${v2}`);
    assert.equal(onServer('ls .kamal/apps/hello/assets/volumes'), `web-${v2}`);
    assert.equal(onServer('ls .kamal/proxy/apps-config/hello/error_pages'), v2);
    assert.notEqual(v1, v2);
  });

  test("maintenance: the proxy serves the app's own 503 page, with the message; live again after", async () => {
    ok(['app', 'maintenance']);
    const down = await get('/');
    assert.equal(down.status, 503);
    assert.equal(down.body, '<html><body><p>polish maintenance</p></body></html>\n');
    ok(['app', 'live']);
    assert.equal((await get('/up')).status, 200);
    ok(['app', 'maintenance', '--message', 'Back at <5>']);
    const message = await get('/');
    assert.equal(message.status, 503);
    assert.equal(message.body, '<html><body><p>polish maintenance: Back at &lt;5&gt;</p></body></html>\n');
    ok(['app', 'live']);
    assert.equal((await get('/up')).status, 200);
  });

  test("app exec --raw prints the command's stdout as it came, without host headers", () => {
    const raw = ok(['app', 'exec', '--raw', '--reuse', 'cat', '/app/public/assets/app-two.css']);
    assert.equal(raw.stdout, 'body { color: two }\n');
    assert.equal(raw.stderr, '');
    const framed = ok(['app', 'exec', '--reuse', 'cat', '/app/public/assets/app-two.css']);
    assert.equal(framed.stdout, `App Host: ${address}\nbody { color: two }\n`);
    const refused = run(['app', 'exec', '--raw', '--detach', 'true']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--raw cannot be combined with --detach; drop one of them\./);
  });

  test('proxy boot_config set writes the legacy files, get shows them, reset removes them', () => {
    const set = ok(['proxy', 'boot_config', 'set', '--http-port', '8080', '--log-max-size', '5m', '--debug']);
    assert.match(
      set.stderr,
      /The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy\/run instead/,
    );
    assert.equal(
      onServer('cat .kamal/proxy/options'),
      '--publish 8080:80 --publish 443:443 --log-opt max-size=5m',
    );
    assert.equal(onServer('cat .kamal/proxy/run_command'), 'kamal-proxy run --debug');
    const got = ok(['proxy', 'boot_config', 'get']).stdout;
    assert.match(
      got,
      new RegExp(
        `^Host ${address.replace(/\./g, '\\.')}: --publish 8080:80 --publish 443:443 --log-opt max-size=5m basecamp/kamal-proxy:v[0-9.]+ kamal-proxy run --debug$`,
        'm',
      ),
    );
    ok(['proxy', 'boot_config', 'reset']);
    assert.equal(
      onServer('ls -a .kamal/proxy | grep -cE "^(options|image|image_version|run_command)$" || true'),
      '0',
    );
    assert.match(
      ok(['proxy', 'boot_config', 'get']).stdout,
      /: --publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp\/kamal-proxy:v/,
    );
    const bad = run(['proxy', 'boot_config', 'show']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Unknown boot_config subcommand show; use set, get or reset\./);
  });

  test('upgrade: Traefik goes, the proxy is rebooted and the latest version serves again', async () => {
    const image = onServer(
      `docker ps --filter label=service=hello --filter label=role=web --format '{{.Image}}'`,
    );
    onServer(
      `docker run -d --name traefik --label org.opencontainers.image.title=Traefik --entrypoint sleep ${image} 600`,
    );
    const refused = run(['upgrade']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /`wharf upgrade` needs confirmation/);
    const result = ok(['upgrade', '-y']);
    assert.match(result.stderr, /Upgraded all hosts/);
    assert.equal(onServer('docker ps -a --filter name=^traefik$ --format "{{.Names}}"'), '');
    assert.equal(onServer('docker ps --filter name=^kamal-proxy$ --format "{{.Names}}"'), 'kamal-proxy');
    // Kamal's upgrade boots the app as `app boot` does: the latest image, as version `latest`.
    const served = await get('/');
    assert.equal(served.status, 200);
    assert.equal(JSON.parse(served.body).version, 'latest');
    assert.equal((await get('/assets/app-two.css')).status, 200);
    assert.match(onServer('cat .kamal/hello-audit.log'), /Rebooted proxy/);
  });

  test('an error_pages_path that does not exist stops the deploy before any container changes', () => {
    const running = onServer('docker ps --filter label=service=hello --format "{{.Names}}"');
    app.commit(
      'config/deploy.yml',
      (t) => t.replace('error_pages_path: errors', 'error_pages_path: missing'),
      'bad path',
    );
    const result = run(['deploy', '-q']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /error_pages_path missing in .*deploy\.yml can't be read \(ENOENT\)/);
    assert.equal(onServer('docker ps --filter label=service=hello --format "{{.Names}}"'), running);
  });
});
