#!/usr/bin/env bash
# Installs what wharf's main job and tests need on this machine, when missing:
# npm packages (npm ci), and on Debian as root the Docker engine (docker.io) and
# debootstrap (for the fleet's base images). Says what is needed when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then need_apt+=(docker.io); fi
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "wharf: missing ${need_apt[*]} and not root, so cannot install them; install them (Debian: sudo apt-get install -y ${need_apt[*]}) and run again." >&2
    exit 1
  fi
  if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "wharf: missing ${need_apt[*]} and this is not Debian, so cannot install them; install Docker and debootstrap and run again." >&2
    exit 1
  fi
  echo "Installing ${need_apt[*]} with apt-get…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "wharf: Node.js 20 or newer is required (found $(node --version 2>/dev/null || echo none)); install it and run again." >&2
  exit 1
fi

# npm packages: install when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)…" >&2
  npm ci --no-audit --no-fund >/dev/null
fi
npm run build --silent >/dev/null
