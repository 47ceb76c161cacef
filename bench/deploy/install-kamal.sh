#!/usr/bin/env bash
# Installs real Kamal 2 for bench/deploy/kamal-vs-wharf.mjs, offline, by hand
# only (never run by CI): its gems from Debian's packages, its source from the
# mirrored basecamp/kamal repository. Idempotent: installs only what is missing
# and extracts the source once per Kamal commit. Prints the source directory.
#
#   bash bench/deploy/install-kamal.sh [KAMAL_DIR]
#
# KAMAL_DIR defaults to $WHARF_KAMAL_DIR or ~/.cache/wharf-bench/kamal. The
# mirror is $WHARF_KAMAL_MIRROR (default /work/.mirror/basecamp+kamal/repo).
# Kamal then runs as
#   ruby -I bench/deploy/kamal-shim -rkamal_shim -I KAMAL_DIR/lib KAMAL_DIR/bin/kamal …
# Debian bookworm's gems are older than Kamal's gemspec asks for; running from
# source skips the gemspec check and kamal-shim/kamal_shim.rb adds the few
# missing APIs (listed there and in the bench's header).
set -euo pipefail

packages=(ruby ruby-sshkit ruby-net-ssh ruby-net-scp ruby-thor ruby-dotenv ruby-ed25519
  ruby-bcrypt-pbkdf ruby-activesupport ruby-zeitwerk ruby-concurrent)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-kamal: missing ${missing[*]}; install them (sudo apt-get install -y ${missing[*]}) and run again." >&2
    exit 1
  fi
  echo "install-kamal: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mirror=${WHARF_KAMAL_MIRROR:-/work/.mirror/basecamp+kamal/repo}
dir=${1:-${WHARF_KAMAL_DIR:-$HOME/.cache/wharf-bench/kamal}}
if [ ! -d "$mirror" ]; then
  if [ -x "$dir/bin/kamal" ]; then echo "$dir"; exit 0; fi
  echo "install-kamal: no Kamal source at $mirror (a bare clone of basecamp/kamal); set WHARF_KAMAL_MIRROR." >&2
  exit 1
fi
commit=$(git --git-dir="$mirror" rev-parse HEAD)
if [ "$(cat "$dir/.commit" 2>/dev/null || true)" != "$commit" ]; then
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  git --git-dir="$mirror" archive "$commit" bin lib | tar -x -C "$dir.tmp"
  echo "$commit" > "$dir.tmp/.commit"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
fi

shim="$(cd "$(dirname "$0")" && pwd)/kamal-shim"
version=$(ruby -I "$shim" -rkamal_shim -I "$dir/lib" "$dir/bin/kamal" version)
echo "install-kamal: Kamal $version (${commit:0:12}) at $dir" >&2
echo "$dir"
