/**
 * Files baked into the fleet's server image. A server is a container running
 * sshd in the foreground and its own dockerd; the registry runs from the same
 * image with Debian's docker-registry.
 */

/** PID 1's script (under docker-init) in every fleet server container. */
export const SERVER_INIT = `#!/bin/sh
# wharf fleet server: its own Docker engine, an optional registry forward, sshd in the foreground.
set -e
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "$WHARF_AUTHORIZED_KEY" ]; then
  printf '%s\\n' "$WHARF_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A >/dev/null
rm -f /var/run/docker.pid
# shellcheck disable=SC2086
dockerd $WHARF_DOCKERD_ARGS >/var/log/dockerd.log 2>&1 &
if [ -n "$WHARF_REGISTRY_FORWARD" ]; then
  # localhost:PORT on this server reaches the fleet registry, so one image name works everywhere.
  port=\${WHARF_REGISTRY_FORWARD%%=*}
  target=\${WHARF_REGISTRY_FORWARD#*=}
  socat TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr TCP:$target >/var/log/registry-forward.log 2>&1 &
fi
exec /usr/sbin/sshd -D -e
`;

/** sshd settings for fleet servers: keys only, and room for wharf's multiplexed channels. */
export const SSHD_CONFIG = `# written by wharf fleet
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 64
MaxStartups 64:30:256
AllowTcpForwarding yes
GatewayPorts no
`;

/** The fleet registry's configuration: plain HTTP, no auth, deletes allowed. */
export const REGISTRY_CONFIG = `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: :5000
`;
