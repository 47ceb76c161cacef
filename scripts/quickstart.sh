#!/usr/bin/env bash
# The main job: bring up the local fleet (a registry and 2 servers, each a
# container with sshd and its own Docker engine) on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
npx wharf fleet up --servers "${WHARF_SERVERS:-2}"
npx wharf fleet status
