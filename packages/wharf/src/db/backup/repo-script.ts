/**
 * `wharf-db-repo`: the one program in the data-tier image that talks to the
 * backup repository, used by Postgres' archive_command on the backup node
 * and by the one-off containers of `db backup`, `db backups` and
 * `db restore`. POSIX sh plus curl (its `--aws-sigv4` signs S3 requests);
 * the S3 credentials reach curl as a config on its standard input (`-K -`,
 * written by the shell's printf builtin), so they appear in no argv.
 */

/** Where the backup node keeps its repository settings (0600, owned by postgres; outside PGDATA so no base backup copies it). */
export const REPO_ENV_FILE = '/etc/wharf-db/repo.env';

export const REPO_SCRIPT = String.raw`#!/bin/sh
# wharf-db-repo: the backup repository of a wharf HA Postgres tier (see docs/db.md).
#   wharf-db-repo put KEY FILE       store FILE at KEY: the same content again succeeds, different content fails
#   wharf-db-repo get KEY FILE       fetch KEY into FILE (exit 3 when the repository has no KEY)
#   wharf-db-repo list PREFIX        print the keys under PREFIX, one a line, sorted
#   wharf-db-repo delete             remove the keys read from standard input, one a line (missing keys are fine)
#   wharf-db-repo archive PATH NAME  Postgres' archive_command: put wal/NAME PATH
# The repository is a directory (WHARF_REPO_PATH) or an S3-compatible bucket (WHARF_REPO_S3_ENDPOINT,
# WHARF_REPO_S3_BUCKET, WHARF_REPO_S3_PREFIX, WHARF_REPO_S3_REGION, WHARF_REPO_S3_KEY_ID,
# WHARF_REPO_S3_SECRET, WHARF_REPO_S3_PART_BYTES), taken from the environment or else from /etc/wharf-db/repo.env.
# On S3 a file larger than WHARF_REPO_S3_PART_BYTES (default 1 GiB; one PUT stops at 5 GiB) is stored as
# KEY.part-00000, KEY.part-00001, … of that size, and get reassembles them (archived WAL never is).
set -eu
conf=/etc/wharf-db/repo.env
die() { echo "wharf-db-repo: $*" >&2; exit 1; }
if [ -z "${'${WHARF_REPO_PATH:-}${WHARF_REPO_S3_ENDPOINT:-}'}" ]; then
  [ -r "$conf" ] || { echo "wharf-db-repo: no repository configured ($conf is missing); run 'wharf db setup' or 'wharf db backup'" >&2; exit 2; }
  while IFS= read -r line; do
    case "$line" in WHARF_REPO_*=*) export "$line" ;; esac
  done < "$conf"
fi
tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

# --- a directory on the server (mounted into this container)
dir_put() {
  target="$WHARF_REPO_PATH/$1"
  if [ -e "$target" ]; then
    cmp -s "$2" "$target" && return 0
    die "$1 is already in the repository with different content; refusing to overwrite it"
  fi
  mkdir -p "$(dirname "$target")"
  cp "$2" "$target.partial.$$"
  sync "$target.partial.$$" 2>/dev/null || true
  mv -f "$target.partial.$$" "$target"
}
dir_get() {
  [ -f "$WHARF_REPO_PATH/$1" ] || exit 3
  cp "$WHARF_REPO_PATH/$1" "$2"
}
dir_list() {
  [ -d "$WHARF_REPO_PATH" ] || return 0
  cd "$WHARF_REPO_PATH"
  find . -type f ! -name '*.partial.*' | sed 's|^\./||' | awk -v p="$1" 'index($0, p) == 1' | LC_ALL=C sort
}
dir_delete() {
  while IFS= read -r k; do
    [ -n "$k" ] || continue
    case "$k" in /*|*..*) die "refusing to delete $k (not a key inside the repository)" ;; esac
    rm -f "$WHARF_REPO_PATH/$k"
    rmdir "$(dirname "$WHARF_REPO_PATH/$k")" 2>/dev/null || true
  done
}

# --- an S3-compatible bucket (path-style URLs, SigV4)
esc() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
enc() { printf '%s' "$1" | sed 's/%/%25/g;s/+/%2B/g;s|/|%2F|g;s/=/%3D/g;s/ /%20/g'; }
key_of() { if [ -n "${'${WHARF_REPO_S3_PREFIX:-}'}" ]; then printf '%s/%s' "$WHARF_REPO_S3_PREFIX" "$1"; else printf '%s' "$1"; fi; }
s3() {
  printf 'user = "%s:%s"\n' "$(esc "$WHARF_REPO_S3_KEY_ID")" "$(esc "$WHARF_REPO_S3_SECRET")" |
    curl -K - -sS --connect-timeout 10 --retry 3 --aws-sigv4 "aws:amz:${'${WHARF_REPO_S3_REGION:-us-east-1}'}:s3" \
      -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -w '%{http_code}' "$@"
}
s3_fail() { # what status body
  code=$(sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$3" 2>/dev/null | head -n 1)
  die "$1 answered HTTP $2${'${code:+ }'}$code from $WHARF_REPO_S3_ENDPOINT (bucket $WHARF_REPO_S3_BUCKET)"
}
s3_url() { printf '%s/%s/%s' "$WHARF_REPO_S3_ENDPOINT" "$WHARF_REPO_S3_BUCKET" "$(key_of "$1")"; }
s3_put() {
  part=${'${WHARF_REPO_S3_PART_BYTES:-1073741824}'}
  size=$(wc -c < "$2")
  if [ "$size" -le "$part" ]; then s3_put_one "$1" "$2"; return; fi
  i=0
  while [ $((i * part)) -lt "$size" ]; do
    # tail seeks in a regular file; head stops after one part: one part on disk at a time.
    tail -c +$((i * part + 1)) "$2" | head -c "$part" > "$tmpdir/part"
    s3_put_one "$1.part-$(printf %05d "$i")" "$tmpdir/part"
    i=$((i + 1))
  done
  rm -f "$tmpdir/part"
}
s3_put_one() {
  url=$(s3_url "$1")
  status=$(s3 -o "$tmpdir/head" -I "$url") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
  if [ "$status" = 200 ]; then
    status=$(s3 -o "$tmpdir/existing" "$url") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
    [ "$status" = 200 ] || s3_fail "GET $1" "$status" "$tmpdir/existing"
    cmp -s "$2" "$tmpdir/existing" && return 0
    die "$1 is already in the repository with different content; refusing to overwrite it"
  fi
  [ "$status" = 404 ] || s3_fail "HEAD $1" "$status" "$tmpdir/head"
  status=$(s3 -o "$tmpdir/put" -T "$2" "$url") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
  [ "$status" = 200 ] || s3_fail "PUT $1" "$status" "$tmpdir/put"
}
s3_get() {
  status=$(s3 -o "$tmpdir/got" "$(s3_url "$1")") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
  if [ "$status" = 404 ]; then s3_get_parts "$1" "$2"; return; fi
  [ "$status" = 200 ] || s3_fail "GET $1" "$status" "$tmpdir/got"
  mv -f "$tmpdir/got" "$2"
}
s3_get_parts() { # KEY FILE: KEY.part-00000, -00001, … in order, until the next one is missing
  i=0
  : > "$tmpdir/whole"
  while :; do
    name="$1.part-$(printf %05d "$i")"
    status=$(s3 -o "$tmpdir/got" "$(s3_url "$name")") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
    if [ "$status" = 404 ]; then [ "$i" -gt 0 ] || exit 3; break; fi
    [ "$status" = 200 ] || s3_fail "GET $name" "$status" "$tmpdir/got"
    cat "$tmpdir/got" >> "$tmpdir/whole"
    i=$((i + 1))
  done
  rm -f "$tmpdir/got"
  mv -f "$tmpdir/whole" "$2"
}
s3_list() {
  full=$(key_of "$1")
  strip=$(key_of "")
  token=
  while :; do
    query="list-type=2&prefix=$(enc "$full")"
    [ -z "$token" ] || query="continuation-token=$(enc "$token")&$query"
    status=$(s3 -o "$tmpdir/list" "$WHARF_REPO_S3_ENDPOINT/$WHARF_REPO_S3_BUCKET?$query") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
    [ "$status" = 200 ] || s3_fail "LIST $1" "$status" "$tmpdir/list"
    sed 's/<Key>/\n<Key>/g' "$tmpdir/list" | sed -n 's:^<Key>\([^<]*\)</Key>.*:\1:p' |
      awk -v p="$strip" 'index($0, p) == 1 { print substr($0, length(p) + 1) }'
    grep -q '<IsTruncated>true</IsTruncated>' "$tmpdir/list" || break
    token=$(sed -n 's:.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*:\1:p' "$tmpdir/list")
    [ -n "$token" ] || break
  done > "$tmpdir/keys"
  LC_ALL=C sort "$tmpdir/keys"
}

s3_delete() {
  while IFS= read -r k; do
    [ -n "$k" ] || continue
    status=$(s3 -o "$tmpdir/del" -X DELETE "$(s3_url "$k")") || die "cannot reach $WHARF_REPO_S3_ENDPOINT"
    case "$status" in 200|204|404) ;; *) s3_fail "DELETE $k" "$status" "$tmpdir/del" ;; esac
  done
}

if [ -n "${'${WHARF_REPO_PATH:-}'}" ]; then kind=dir; else kind=s3; fi
command=${'${1:-}'}
case "$command" in
  put) [ $# -eq 3 ] || die "usage: wharf-db-repo put KEY FILE"; "${'${kind}'}_put" "$2" "$3" ;;
  get) [ $# -eq 3 ] || die "usage: wharf-db-repo get KEY FILE"; "${'${kind}'}_get" "$2" "$3" ;;
  list) "${'${kind}'}_list" "${'${2:-}'}" ;;
  delete) [ $# -eq 1 ] || die "usage: wharf-db-repo delete < KEYS"; "${'${kind}'}_delete" ;;
  # WAL is never split into parts (a segment is at most 1 GiB): every reader takes wal/NAME as one object.
  archive) [ $# -eq 3 ] || die "usage: wharf-db-repo archive PATH NAME"; if [ "$kind" = s3 ]; then s3_put_one "wal/$3" "$2"; else dir_put "wal/$3" "$2"; fi ;;
  *) die "usage: wharf-db-repo put|get|list|delete|archive ..." ;;
esac
`;
