/**
 * The shape of `config/deploy.yml`: the single source of truth for validation,
 * the TypeScript types of the raw config, `wharf docs` and the JSON Schema.
 *
 * It mirrors what Kamal 2 accepts. Kamal checks types against an example
 * document: "string" keys take any scalar (strings, numbers, booleans),
 * integer keys take integers only, booleans take true/false only, and null is
 * never accepted for a key that is present. Checks that span keys (required
 * keys, SSL rules, placement) live in semantics.ts.
 */
import * as z from 'zod';

// --- building blocks -------------------------------------------------------

/** A Kamal "string": any scalar; Ruby calls to_s on it. */
export const stringish = () =>
  z.union([z.string(), z.number(), z.boolean()], { error: 'should be a string' });
export const integer = () => z.int({ error: 'should be an integer' });
export const boolean = () => z.boolean({ error: 'should be a boolean' });
export const anyHash = () => z.record(z.string(), z.unknown(), { error: 'should be a hash' });
export const hashOfStrings = () => z.record(z.string(), stringish(), { error: 'should be a hash' });
export const arrayOf = <T extends z.ZodType>(item: T) => z.array(item, { error: 'should be an array' });
export const section = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: 'should be a hash' });

function doc<T extends z.ZodType>(schema: T, description: string): z.ZodOptional<T> {
  return schema.optional().describe(description) as z.ZodOptional<T>;
}

// --- servers ---------------------------------------------------------------

/** `host` or `{host: tag}` / `{host: [tags]}`. */
export const hostEntry = z.union(
  [
    stringish(),
    z
      .record(
        z.string(),
        z.union([stringish(), arrayOf(stringish())], { error: 'should be a string or an array' }),
        { error: 'should be a string or a hash' },
      )
      .refine((h) => Object.keys(h).length === 1, {
        message: 'names more than one host (multiple hosts found); write one `host: tags` pair per list item',
      }),
  ],
  { error: 'should be a string or a hash' },
);
export const hostList = arrayOf(hostEntry).describe(
  'Hosts, each a name or address, optionally tagged: `- 10.0.0.1`, `- 10.0.0.2: db`, `- 10.0.0.3: [db, replica]`.',
);

// --- env -------------------------------------------------------------------

const secretList = () =>
  arrayOf(stringish()).describe(
    'Names of secrets (from .kamal/secrets*) written to the env file on the host; `NAME:SECRET` sets env NAME from secret SECRET.',
  );

const envComplexShape = {
  clear: doc(hashOfStrings(), 'Plain variables passed as `--env KEY="value"` on the docker command line.'),
  secret: doc(
    secretList(),
    'Secret names (or `ENV_NAME:SECRET_NAME` pairs) whose values go into an env file with mode 0600 on each host.',
  ),
};

export const ENV_SPECIAL_KEYS = ['clear', 'secret', 'tags'];
/** A flat env map; a map naming clear/secret/tags is the structured form instead. */
export const flatEnv = () =>
  hashOfStrings().refine((h) => !ENV_SPECIAL_KEYS.some((k) => k in h), {
    message: 'mixes clear/secret/tags with plain variables; put plain variables under clear',
  });

/** Env of a tag, a role or an accessory: no nested tags. */
export const envWithoutTags = z.union(
  [
    section({
      ...envComplexShape,
      tags: z
        .never({ error: 'tags are only allowed in the root env' })
        .optional()
        .describe('Not allowed here: tags are only allowed in the root env.'),
    }),
    flatEnv(),
  ],
  { error: 'should be a hash' },
);

export const rootEnv = z
  .union(
    [
      section({
        ...envComplexShape,
        tags: doc(
          z.record(z.string(), envWithoutTags, { error: 'should be a hash' }),
          'Extra env for hosts carrying a tag (see `servers`): `tags: {replica: {DB_ROLE: replica}}`; each tag env may use clear/secret too.',
        ),
      }),
      flatEnv(),
    ],
    { error: 'should be a hash' },
  )
  .describe(
    'Environment variables for the app containers: either a flat `KEY: value` map, or `clear:` / `secret:` / `tags:`.',
  );

// --- logging ---------------------------------------------------------------

export const logging = section({
  driver: doc(stringish(), 'Docker logging driver (`--log-driver`).'),
  options: doc(
    anyHash(),
    'Logging driver options, each passed as `--log-opt key="value"`. Default when neither driver nor options are set: `max-size=10m`.',
  ),
}).describe('Docker logging for the containers; a role can override it (merged over the root setting).');

// --- proxy -----------------------------------------------------------------

export const proxyRun = section({
  http_port: doc(integer(), 'Host port published to the proxy’s port 80. Default 80.'),
  https_port: doc(integer(), 'Host port published to the proxy’s port 443. Default 443.'),
  metrics_port: doc(integer(), 'Port for Prometheus metrics (exposed and passed as `--metrics-port`).'),
  debug: doc(boolean(), 'Debug logging in the proxy. Default false.'),
  log_max_size: doc(stringish(), 'Maximum size of the proxy container log. Default "10m".'),
  publish: doc(boolean(), 'Whether to publish the proxy ports on the host at all. Default true.'),
  bind_ips: doc(
    arrayOf(stringish()),
    'Addresses to bind the published ports to (IPv6 is bracketed for you). Default: all interfaces.',
  ),
  registry: doc(stringish(), 'Registry of the proxy image. Default: Docker Hub.'),
  repository: doc(stringish(), 'Repository of the proxy image. Default "basecamp/kamal-proxy".'),
  version: doc(stringish(), 'Tag of the proxy image. Default "v0.9.2" (the minimum supported).'),
  options: doc(anyHash(), 'Extra `docker run` options for the proxy container.'),
}).describe(
  'How the proxy container itself is started; must be identical for every app and accessory sharing a host.',
);

export const proxy = section({
  host: doc(
    stringish(),
    'Host name routed to the app (comma-separated for several). Without host/hosts the app gets every request not claimed by another app.',
  ),
  hosts: doc(arrayOf(stringish()), 'Host names routed to the app, as a list. Use either host or hosts.'),
  app_port: doc(integer(), 'Port the app listens on inside the container. Default 80.'),
  ssl: doc(
    z.union(
      [
        boolean(),
        z.looseObject(
          {
            certificate_pem: doc(stringish(), 'Name of the secret holding the certificate (PEM).'),
            private_key_pem: doc(stringish(), 'Name of the secret holding the private key (PEM).'),
          },
          { error: 'should be a hash' },
        ),
      ],
      { error: 'should be a boolean or a hash' },
    ),
    'true for automatic HTTPS via Let’s Encrypt (one server, host required), or `{certificate_pem: SECRET, private_key_pem: SECRET}` for your own certificate. Default false.',
  ),
  ssl_redirect: doc(boolean(), 'Redirect HTTP to HTTPS when SSL is on. Default true.'),
  forward_headers: doc(
    boolean(),
    'Forward X-Forwarded-For/-Proto to the app. Default: on without SSL, off with SSL.',
  ),
  response_timeout: doc(integer(), 'Seconds to wait for a response before timing out. Default 30.'),
  path_prefix: doc(stringish(), 'Route only these path prefixes to the app (comma-separated).'),
  path_prefixes: doc(arrayOf(stringish()), 'Route only these path prefixes to the app, as a list.'),
  strip_path_prefix: doc(boolean(), 'Strip the matched prefix before forwarding. Default true.'),
  healthcheck: doc(
    section({
      path: doc(stringish(), 'Path the proxy polls until the new container answers 200. Default "/up".'),
      interval: doc(integer(), 'Seconds between health checks. Default 1.'),
      timeout: doc(integer(), 'Seconds before one health check times out. Default 5.'),
    }),
    'How the proxy decides a new container is ready before switching traffic to it.',
  ),
  buffering: doc(
    section({
      requests: doc(boolean(), 'Buffer request bodies. Default true.'),
      responses: doc(boolean(), 'Buffer response bodies. Default true.'),
      max_request_body: doc(integer(), 'Largest request body in bytes (0 = no limit). Default 1 GB.'),
      max_response_body: doc(integer(), 'Largest response body in bytes (0 = no limit). Default no limit.'),
      memory: doc(integer(), 'Bytes buffered in memory before spilling to disk. Default 1 MB.'),
    }),
    'Request/response buffering in the proxy.',
  ),
  logging: doc(
    section({
      request_headers: doc(
        arrayOf(stringish()),
        'Request headers to log. Default Cache-Control, Last-Modified, User-Agent.',
      ),
      response_headers: doc(arrayOf(stringish()), 'Response headers to log.'),
    }),
    'Which headers the proxy writes to its request log.',
  ),
  run: doc(proxyRun, 'Settings for booting the proxy container itself.'),
}).describe(
  'kamal-proxy settings for the app: host routing, SSL, health checks, buffering, and how the proxy container runs.',
);

// --- roles -----------------------------------------------------------------

export const role = section({
  hosts: doc(hostList, 'Hosts of this role (names or addresses, optionally with tags).'),
  cmd: doc(stringish(), 'Command the role’s containers run instead of the image default.'),
  stop_timeout: doc(integer(), 'Seconds `docker stop` waits for this role. Default: root stop_timeout.'),
  options: doc(
    anyHash(),
    'Extra `docker run` options (`--key value`; true gives a bare flag, lists repeat). `restart` sets the restart policy (default unless-stopped).',
  ),
  logging: doc(logging, 'Logging for this role, merged over the root logging.'),
  proxy: doc(
    z.union([boolean(), proxy], { error: 'should be a boolean or a hash' }),
    'true to run this role behind the proxy with the root settings, false to opt out, or settings merged over the root proxy. Default: on for the primary role only.',
  ),
  labels: doc(
    hashOfStrings(),
    'Extra container labels for this role (service, role and destination are reserved).',
  ),
  env: doc(envWithoutTags, 'Env for this role, merged over the root env.'),
  asset_path: doc(
    stringish(),
    'Container path whose files are bridged between versions (`path[:options]`). Default: root asset_path.',
  ),
}).describe(
  'A role (web, workers, ...): its hosts and settings merged over the root ones; `wharf docs servers` shows the list form.',
);

export const roleEntry = z
  .union([hostList, role], { error: 'should be an array or a hash' })
  .describe('A role: a list of hosts, or a map with `hosts:` and role settings.');

export const servers = z
  .union([hostList, z.record(z.string(), roleEntry, { error: 'should be an array or a hash' })], {
    error: 'should be an array or a hash',
  })
  .describe(
    'Where the app runs: a list of hosts (the `web` role), or a map of role name to hosts/role settings.',
  );

// --- registry --------------------------------------------------------------

const credential = (what: string) =>
  z
    .union(
      [
        z.string({ error: 'should be a string or an array with one string (for secret lookup)' }),
        z.tuple([z.string()], {
          error: 'should be a string or an array with one string (for secret lookup)',
        }),
      ],
      {
        error: 'should be a string or an array with one string (for secret lookup)',
      },
    )
    .describe(
      `Registry ${what}: a literal value, or a one-item list naming a secret (e.g. \`[KAMAL_REGISTRY_PASSWORD]\`). Required unless the server is localhost:PORT.`,
    );

export const registry = section({
  server: doc(
    stringish(),
    'Registry host (and port). Default Docker Hub. `localhost:PORT` runs a local registry and tunnels it to the servers over SSH.',
  ),
  username: credential('user name').optional(),
  password: credential('password').optional(),
}).describe('Where the image is pushed and pulled from.');

// --- builder ---------------------------------------------------------------

export const builder = section({
  arch: doc(
    z.union([stringish(), arrayOf(stringish())], { error: 'should be an array or a string' }),
    'Target architecture(s): amd64, arm64 or a list. Required.',
  ),
  remote: doc(stringish(), 'Remote builder for non-local architectures, e.g. `ssh://docker@builder`.'),
  local: doc(
    boolean(),
    'false to always use the remote builder, even for the local architecture. Default true.',
  ),
  pack: doc(
    section({
      builder: doc(stringish(), 'Buildpacks builder image, e.g. heroku/builder:24.'),
      buildpacks: doc(arrayOf(stringish()), 'Buildpacks to apply, in order.'),
    }),
    'Build with Cloud Native Buildpacks (`pack`) instead of a Dockerfile; one architecture only.',
  ),
  cache: doc(
    section({
      type: doc(stringish(), 'gha or registry.'),
      options: doc(stringish(), 'Extra cache options, e.g. mode=max.'),
      image: doc(stringish(), 'Registry cache image. Default `<image>-build-cache`.'),
    }),
    'Build cache (`--cache-from` / `--cache-to`).',
  ),
  context: doc(
    stringish(),
    'Build context. Default: a clean git clone of HEAD (so uncommitted changes are not built); `.` builds the working tree.',
  ),
  dockerfile: doc(stringish(), 'Dockerfile path. Default "Dockerfile".'),
  target: doc(stringish(), 'Build stage to target (`--target`).'),
  args: doc(anyHash(), 'Build arguments (`--build-arg KEY=value`).'),
  secrets: doc(
    arrayOf(stringish()),
    'Secret names exposed to the build (`--secret id=NAME`), values from .kamal/secrets*.',
  ),
  ssh: doc(
    stringish(),
    'SSH agent socket or keys exposed to the build (`--ssh`), e.g. default=$SSH_AUTH_SOCK.',
  ),
  driver: doc(
    stringish(),
    'buildx driver. Default "docker-container"; `docker` uses the plain engine; `cloud ORG/BUILDER` uses Docker Build Cloud.',
  ),
  provenance: doc(stringish(), 'Provenance attestation setting (`--provenance`), e.g. mode=max or false.'),
  sbom: doc(boolean(), 'Generate an SBOM attestation (`--sbom`).'),
}).describe('How the image is built.');

// --- accessories -----------------------------------------------------------

const pathEntry = z.union(
  [
    stringish(),
    z.looseObject(
      {
        local: doc(stringish(), 'Local path.'),
        remote: doc(stringish(), 'Path in the container.'),
        mode: doc(stringish(), 'chmod mode, e.g. "0600".'),
        owner: doc(stringish(), 'chown owner, e.g. "1000:1000".'),
        options: doc(stringish(), 'Mount options, e.g. ro or z.'),
      },
      { error: 'should be a string or a hash' },
    ),
  ],
  { error: 'should be a string or a hash' },
);

export const accessory = section({
  service: doc(stringish(), 'Container name and service label. Default `<service>-<name>`.'),
  image: doc(stringish(), 'Image to run (prefixed with this accessory’s registry server if one is set).'),
  registry: doc(registry, 'Registry for this accessory’s image, if not Docker Hub.'),
  host: doc(stringish(), 'Run on this host.'),
  hosts: doc(hostList, 'Run on these hosts (tags after a host are ignored here).'),
  role: doc(stringish(), 'Run on the hosts of this role.'),
  roles: doc(arrayOf(stringish()), 'Run on the hosts of these roles.'),
  tag: doc(stringish(), 'Run on the hosts carrying this tag.'),
  tags: doc(arrayOf(stringish()), 'Run on the hosts carrying any of these tags.'),
  cmd: doc(stringish(), 'Command instead of the image default.'),
  port: doc(stringish(), 'Published port: "3306" (3306:3306) or "127.0.0.1:3306:3306".'),
  labels: doc(hashOfStrings(), 'Extra container labels (service, role and destination are reserved).'),
  options: doc(
    anyHash(),
    'Extra `docker run` options; `restart` sets the restart policy (default unless-stopped).',
  ),
  env: doc(envWithoutTags, 'Env for the accessory (clear and secret).'),
  files: doc(
    arrayOf(pathEntry),
    'Files uploaded to the host and mounted: `local:remote[:options]` or `{local, remote, mode, owner, options}`; `.erb` files are rendered first. Default mode 755.',
  ),
  directories: doc(
    arrayOf(pathEntry),
    'Directories created on the host and mounted: `local:remote[:options]` or `{local, remote, mode, owner, options}`.',
  ),
  volumes: doc(arrayOf(stringish()), 'Extra `--volume` mounts, passed as written.'),
  network: doc(stringish(), 'Docker network. Default "kamal".'),
  proxy: doc(
    z.union([z.literal(false, { error: 'should be a hash' }), proxy], { error: 'should be a hash' }),
    'Serve this accessory through kamal-proxy (same keys as the root proxy).',
  ),
});

// --- small sections --------------------------------------------------------

export const ssh = section({
  user: doc(stringish(), 'SSH user. Default "root".'),
  port: doc(stringish(), 'SSH port. Default 22.'),
  proxy: doc(stringish(), 'Jump host, `host` or `user@host` (user defaults to root).'),
  proxy_command: doc(stringish(), 'A ProxyCommand, e.g. "ssh -W %h:%p user@proxy".'),
  log_level: doc(stringish(), 'SSH client log level. Default fatal.'),
  keys_only: doc(boolean(), 'Use only the keys given in keys/key_data, not every agent identity.'),
  keys: doc(arrayOf(stringish()), 'Private key files.'),
  key_data: doc(arrayOf(stringish()), 'Names of secrets holding private keys (inline PEM is deprecated).'),
  config: doc(
    z.union([z.string(), z.boolean(), arrayOf(stringish())], {
      error: 'should be a boolean or a string or an array',
    }),
    'true to read the default OpenSSH config files, false to ignore them, or a path / list of paths.',
  ),
  forward_agent: doc(boolean(), 'Forward the local SSH agent. Default true.'),
}).describe('How wharf connects to the servers.');

export const sshkit = section({
  max_concurrent_starts: doc(integer(), 'Most SSH connections opened at once. Default 30.'),
  pool_idle_timeout: doc(integer(), 'Seconds an idle connection is kept. Default 900.'),
  dns_retries: doc(integer(), 'Retries for DNS failures when connecting. Default 3.'),
}).describe('SSH connection pool tuning.');

export const boot = section({
  limit: doc(
    stringish(),
    'Hosts booted at a time: a number or a percentage like "25%" (of all hosts, at least 1). Default: all at once.',
  ),
  wait: doc(integer(), 'Seconds to wait between boot groups.'),
  parallel_roles: doc(boolean(), 'Boot the roles on one host in parallel. Default false.'),
}).describe('Rolling boots across many hosts.');

export const output = section({
  otel: doc(
    section({ endpoint: doc(stringish(), 'OTLP/HTTP endpoint, e.g. http://otel-gateway:4318.') }),
    'Ship command output as OpenTelemetry logs.',
  ),
  file: doc(
    section({ path: doc(stringish(), 'Directory for one log file per command.') }),
    'Write command output to local files.',
  ),
}).describe('Where command output is logged besides the terminal.');

export const aliases = z
  .record(z.string(), stringish(), { error: 'should be a hash' })
  .describe(
    'Command shortcuts: `console: app exec -i --reuse "bin/rails console"` makes `wharf console` work.',
  );

export const hooksOutput = z
  .union([stringish(), z.record(z.string(), stringish(), { error: 'should be a string or a hash' })], {
    error: 'should be a string or a hash',
  })
  .describe(
    'Hook output: quiet or verbose, for all hooks or per hook (`{pre-deploy: verbose}`); -v/-q override it.',
  );

// --- root ------------------------------------------------------------------

export const rootShape = {
  service: doc(
    stringish(),
    'Name of the service: prefix of container names; letters, digits, - and _ only. Required.',
  ),
  image: doc(
    stringish(),
    'Image name pushed to the registry (without the registry host). Required unless the registry is local (then defaults to service).',
  ),
  labels: doc(
    hashOfStrings(),
    'Extra labels on every app container (service, role and destination are reserved).',
  ),
  volumes: doc(arrayOf(stringish()), 'Extra `--volume` mounts for every app container.'),
  registry: doc(registry, 'Container registry. Required.'),
  servers: doc(servers, 'Hosts and roles. Required unless there are accessories.'),
  env: doc(rootEnv, 'Environment variables.'),
  asset_path: doc(
    stringish(),
    'Container path whose assets are bridged between versions during a deploy, e.g. /rails/public/assets (`path[:ro|z|Z]`).',
  ),
  hooks_path: doc(stringish(), 'Directory of hook scripts. Default ".kamal/hooks".'),
  hooks_output: doc(hooksOutput, 'Whether hook output is shown (quiet/verbose), globally or per hook.'),
  secrets_path: doc(
    stringish(),
    'Base path of the secrets files (`<path>-common`, then `<path>` or `<path>.<destination>`). Default ".kamal/secrets".',
  ),
  error_pages_path: doc(
    stringish(),
    'Local directory of 4xx.html/5xx.html pages the proxy serves for the app.',
  ),
  require_destination: doc(boolean(), 'Refuse to run without -d DESTINATION. Default false.'),
  primary_role: doc(stringish(), 'Role whose first host is the primary host. Default "web".'),
  allow_empty_roles: doc(
    boolean(),
    'Allow roles without hosts (the primary role still needs hosts). Default false.',
  ),
  retain_containers: doc(
    integer(),
    'Old containers (and their images) kept for rollback; at least 1. Default 5.',
  ),
  minimum_version: doc(stringish(), 'Oldest Kamal version this config needs; wharf implements Kamal 2.12.'),
  readiness_delay: doc(
    integer(),
    'Seconds a container without proxy or healthcheck must keep running before it counts as ready. Default 7.',
  ),
  deploy_timeout: doc(integer(), 'Seconds a new container has to become healthy. Default 30.'),
  drain_timeout: doc(integer(), 'Seconds the old container gets to finish requests. Default 30.'),
  stop_timeout: doc(
    integer(),
    'Seconds `docker stop` waits; default drain_timeout for roles without proxy, Docker’s 10 s for proxied roles.',
  ),
  run_directory: doc(
    stringish(),
    'Accepted for compatibility; Kamal always uses ".kamal" on the hosts, and so does wharf.',
  ),
  ssh: doc(ssh, 'SSH connection settings.'),
  builder: doc(builder, 'Image build settings. Required (at least arch).'),
  accessories: doc(
    z.record(z.string(), accessory, { error: 'should be a hash' }),
    'Other services (databases, caches) run next to the app; not touched by deploy.',
  ),
  proxy: doc(proxy, 'kamal-proxy settings for the app.'),
  sshkit: doc(sshkit, 'SSH connection pool tuning.'),
  boot: doc(boot, 'Rolling boot settings.'),
  logging: doc(logging, 'Docker logging settings.'),
  output: doc(output, 'Extra output loggers.'),
  aliases: doc(aliases, 'Command aliases.'),
};

export const rootSchema = z
  .looseObject(rootShape, { error: 'should be a hash' })
  .describe('A Kamal 2 deploy configuration (config/deploy.yml), as read by wharf.');

export type RawConfig = z.infer<typeof rootSchema>;
export type RawRole = z.infer<typeof role>;
export type RawProxy = z.infer<typeof proxy>;
export type RawProxyRun = z.infer<typeof proxyRun>;
export type RawAccessory = z.infer<typeof accessory>;
export type RawBuilder = z.infer<typeof builder>;
export type RawRegistry = z.infer<typeof registry>;
export type RawLogging = z.infer<typeof logging>;
export type RawSsh = z.infer<typeof ssh>;
export type HostEntry = z.infer<typeof hostEntry>;
export type Scalar = string | number | boolean;

/** The documented sections, for `wharf docs SECTION` (Kamal's section names). */
export const SECTIONS = {
  configuration: rootSchema,
  accessory,
  alias: aliases,
  boot,
  builder,
  env: rootEnv,
  logging,
  output,
  proxy,
  registry,
  role,
  servers,
  ssh,
  sshkit,
} as const;
