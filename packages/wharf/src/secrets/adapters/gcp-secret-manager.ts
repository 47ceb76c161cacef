import { UserError } from '../../util/errors.js';
import {
  type AdapterContext,
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  rubySplit,
  runCli,
  keepSecret,
} from './base.js';

/**
 * Google Cloud Secret Manager (`gcloud`). `--account` is `USER` or
 * `USER|SERVICE_ACCOUNT[,CHAIN…]` (`default` for gcloud's active user), the
 * second part enabling service-account impersonation. Secrets are
 * `[project/]name[/version]` (project `default` = gcloud's, version `latest`);
 * keys are `project/name`.
 */
export const gcpSecretManagerAdapter = cliAdapter({
  name: 'gcp',
  requiresAccount: true,
  cli: {
    file: 'gcloud',
    product: 'gcloud',
    install: 'install the Google Cloud CLI (`gcloud`) and put it on PATH',
  },
  fetch(secrets, options, ctx) {
    if (!loggedIn(ctx)) {
      runCli(ctx, 'gcloud', ['auth', 'login']);
      if (!loggedIn(ctx))
        throw new UserError('could not login to gcloud; run `gcloud auth login` and try again.');
    }
    const account = options.account!;
    const bar = account.indexOf('|');
    const user = bar < 0 ? account : account.slice(0, bar);
    const serviceAccount = bar < 0 ? undefined : account.slice(bar + 1);
    const results: SecretValues = new Map();
    for (const secret of prefixedSecrets(secrets, options.from)) {
      const parts = rubySplit(secret, '/');
      if (parts.length === 1) parts.unshift('default');
      const [project = 'default', name = '', version = 'latest'] = parts;
      const args = ['secrets', 'versions', 'access', version, `--secret=${name}`];
      if (project !== 'default') args.push(`--project=${project}`);
      if (user !== 'default') args.push(`--account=${user}`);
      if (serviceAccount) args.push(`--impersonate-service-account=${serviceAccount}`);
      args.push('--format=json');
      const item = `${project}/${name}`;
      const result = runCli(ctx, 'gcloud', args);
      if (result.status !== 0)
        throw new UserError(
          `Could not read ${item} from Google Secret Manager; check the name and that ${user} may access it.`,
        );
      const json = parseJson(
        result.stdout.trim(),
        `\`gcloud secrets versions access ${version} --secret=${name}\``,
      );
      const data =
        isRecord(json) && isRecord(json.payload) && typeof json.payload.data === 'string'
          ? json.payload.data
          : undefined;
      if (data === undefined)
        throw new UserError(
          `Google Secret Manager returned no payload for ${item}; check that the version exists.`,
        );
      const value = Buffer.from(data, 'base64').toString('utf8');
      keepSecret(results, ctx, item, value);
    }
    return results;
  },
});

function loggedIn(ctx: AdapterContext): boolean {
  const result = runCli(ctx, 'gcloud', ['auth', 'list', '--format=json']);
  if (result.status !== 0) return false;
  const json = parseJson(result.stdout, '`gcloud auth list --format=json`');
  return Array.isArray(json) && json.some((entry) => entry !== null && entry !== false);
}
