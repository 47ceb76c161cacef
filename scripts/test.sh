#!/usr/bin/env bash
# Runs every test (unit and end-to-end on the local fleet) after installing
# what they need. The end-to-end tests start wharf's own Docker engine when no
# engine runs, and build the fleet's base images on first use (cached after).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
npm test
