/** The files `wharf init` writes: a starting deploy.yml, a secrets file and sample hooks (our own words). */

export const DEPLOY_YML = `# Name of your application. Prefixes every container wharf (or Kamal) runs.
service: my-app

# Name of the container image (pushed to the registry below).
image: my-user/my-app

# Where each role of the app runs. A plain list of hosts means one role, web.
servers:
  web:
    - 192.168.0.1
  # job:
  #   hosts:
  #     - 192.168.0.1
  #   cmd: bin/jobs

# wharf-proxy answers on :80 (and :443 with ssl) and swaps versions with no downtime.
# Its health check asks /up on app_port until it answers 2xx.
proxy:
  # ssl: true
  # host: app.example.com
  app_port: 80
  healthcheck:
    path: /up

# Where images are pushed and pulled. A localhost:PORT server is a local registry
# that wharf tunnels to the servers during pulls (no credentials needed).
registry:
  # server: ghcr.io
  username: my-user
  # A list names a secret from .kamal/secrets.
  password:
    - KAMAL_REGISTRY_PASSWORD

# How the image is built: with docker buildx when it is installed, else docker build.
builder:
  arch: amd64

# Environment of the app containers. Secret values come from .kamal/secrets.
# env:
#   clear:
#     DB_HOST: 192.168.0.2
#   secret:
#     - RAILS_MASTER_KEY

# Shortcuts: \`wharf console\` runs \`wharf app exec --interactive --reuse "bin/rails console"\`.
# aliases:
#   console: app exec --interactive --reuse "bin/rails console"

# Datastores and other services beside the app.
# accessories:
#   db:
#     image: postgres:17
#     host: 192.168.0.2
#     port: "127.0.0.1:5432:5432"
#     env:
#       secret:
#         - POSTGRES_PASSWORD
#     directories:
#       - data:/var/lib/postgresql/data
`;

export const SECRETS = `# Secrets for the app and the registry, one NAME=value per line. Keep real values out
# of git: read them from the environment or a password manager instead, e.g.
#
#   KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD
#   SECRETS=$(wharf secrets fetch --adapter 1password --account my-account --from Vault/Item KAMAL_REGISTRY_PASSWORD RAILS_MASTER_KEY)
#   RAILS_MASTER_KEY=$(wharf secrets extract RAILS_MASTER_KEY $SECRETS)
#
# Shared by every destination: .kamal/secrets-common; per destination: .kamal/secrets.DEST.

KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD
`;

const header = (what: string) => `#!/bin/sh
# ${what}
# Rename this file without .sample (and keep it executable) to enable it.
# Available: KAMAL_RECORDED_AT KAMAL_PERFORMER KAMAL_VERSION KAMAL_HOSTS KAMAL_COMMAND
# KAMAL_SUBCOMMAND KAMAL_DESTINATION KAMAL_ROLES (each also as WHARF_*).
`;

export const SAMPLE_HOOKS: Record<string, string> = {
  'pre-connect.sample': `${header('Runs before the first SSH connection, e.g. to warm DNS or open a VPN.')}
echo "Connecting to $KAMAL_HOSTS"
`,
  'pre-build.sample': `${header('Runs before the image is built. Refuses to build an uncommitted or unpushed tree.')}
if [ -n "$(git status --porcelain)" ]; then
  echo "The working tree has uncommitted changes; commit or stash them first." >&2
  exit 1
fi
branch=$(git rev-parse --abbrev-ref HEAD)
if [ -z "$(git ls-remote --heads origin "$branch" 2>/dev/null)" ]; then
  echo "Branch $branch is not pushed to origin." >&2
  exit 1
fi
`,
  'pre-deploy.sample': `${header('Runs after the image is pushed and the lock is taken, before containers change.')}
echo "Deploying $KAMAL_VERSION to $KAMAL_HOSTS"
`,
  'pre-app-boot.sample': `${header('Runs before each group of hosts boots the new version (KAMAL_HOSTS is the group).')}
echo "Booting $KAMAL_VERSION on $KAMAL_HOSTS"
`,
  'post-app-boot.sample': `${header('Runs after each group of hosts booted the new version (KAMAL_HOSTS is the group).')}
echo "Booted $KAMAL_VERSION on $KAMAL_HOSTS"
`,
  'post-deploy.sample': `${header('Runs after a deploy; KAMAL_RUNTIME holds its duration in seconds.')}
echo "$KAMAL_PERFORMER deployed $KAMAL_VERSION to $KAMAL_DESTINATION in $KAMAL_RUNTIME seconds"
`,
  'pre-proxy-reboot.sample': `${header('Runs before the proxy is rebooted on a group of hosts.')}
echo "Rebooting the proxy on $KAMAL_HOSTS"
`,
  'post-proxy-reboot.sample': `${header('Runs after the proxy was rebooted on a group of hosts.')}
echo "Rebooted the proxy on $KAMAL_HOSTS"
`,
  'docker-setup.sample': `${header('Runs at the end of `wharf server bootstrap` (and so of `wharf setup`).')}
echo "Docker is set up on $KAMAL_HOSTS"
`,
};
