#!/usr/bin/env bash
# The main job: bring up the local fleet (a registry and 2 servers, each a
# container with sshd and its own Docker engine), deploy examples/hello to it,
# then redeploy it under load and print the request success rate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
node scripts/quickstart.mjs
