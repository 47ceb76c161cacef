#!/bin/bash
# Entry point of heatwave-postgres: the official postgres image's contract on
# Debian's PostgreSQL packages.
#
# First start with an empty $PGDATA:
#   - primary (default): initdb as $POSTGRES_USER with $POSTGRES_PASSWORD (scram-sha-256),
#     create $POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz;
#   - standby ($PG_PRIMARY_HOST set): pg_basebackup -R from the primary as
#     $PG_REPLICATION_USER/$PG_REPLICATION_PASSWORD (default: the POSTGRES_ ones),
#     optionally on replication slot $PG_REPLICATION_SLOT (created when missing).
# Every start: listens on all container interfaces; extra `-c name=value`
# arguments pass through to postgres.
set -Eeo pipefail

log() { echo "heatwave-postgres: $*" >&2; }

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

# `docker run IMAGE -c foo=bar` means `postgres -c foo=bar`.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

# As root: own the data and socket directories, then re-run as postgres.
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chmod 700 "$PGDATA"
	chown postgres:postgres /var/run/postgresql
	chmod 2777 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

# A file with one secret, readable only by us, removed on exit.
secret_file() {
	local file
	file="$(mktemp)"
	chmod 600 "$file"
	printf '%s\n' "$1" >"$file"
	echo "$file"
}

replication_settings() {
	cat <<CONF

# ---- heatwave-postgres defaults (replication-ready) ----
listen_addresses = '*'
password_encryption = 'scram-sha-256'
wal_level = replica
max_wal_senders = ${PG_MAX_WAL_SENDERS:-10}
max_replication_slots = ${PG_MAX_REPLICATION_SLOTS:-10}
wal_keep_size = '${PG_WAL_KEEP_SIZE:-256MB}'
hot_standby = on
hot_standby_feedback = on
# Lets pg_rewind resync a demoted primary after a failover.
wal_log_hints = on
shared_preload_libraries = 'pg_stat_statements'
CONF
}

init_primary() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		log "Database is uninitialized and POSTGRES_PASSWORD is not set; set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust for a throwaway database)."
		exit 1
	fi
	local user="${POSTGRES_USER:-postgres}"
	local db="${POSTGRES_DB:-$user}"
	local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	local pwfile
	pwfile="$(secret_file "${POSTGRES_PASSWORD:-}")"
	# shellcheck disable=SC2086
	initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" \
		--encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS >/dev/null
	rm -f "$pwfile"
	replication_settings >>"$PGDATA/postgresql.conf"
	cat >"$PGDATA/pg_hba.conf" <<HBA
# TYPE  DATABASE     USER  ADDRESS  METHOD
local   all          all            trust
local   replication  all            trust
host    all          all   all      $auth
host    replication  all   all      $auth
HBA
	# A private server on the socket only, to create the database and run init scripts.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -t 60 start >/dev/null
	export PGUSER="$user" PGHOST=/var/run/postgresql
	if [ "$db" != 'postgres' ]; then
		psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname postgres --set db="$db" -q <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh) log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
		*.sql) log "running $f"; psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname "$db" -f "$f" ;;
		*.sql.gz) log "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname "$db" ;;
		*) [ -e "$f" ] && log "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	unset PGUSER PGHOST
	log "initialized $PGDATA (user $user, database $db); ready for start up."
}

init_standby() {
	local host="$PG_PRIMARY_HOST" port="${PG_PRIMARY_PORT:-5432}"
	local user="${PG_REPLICATION_USER:-${POSTGRES_USER:-postgres}}"
	local password="${PG_REPLICATION_PASSWORD:-$POSTGRES_PASSWORD}"
	local wait="${PG_PRIMARY_WAIT:-120}"
	# In the environment (not argv) so pg_basebackup -R also writes it into
	# primary_conninfo, which the standby needs to reconnect.
	export PGPASSWORD="$password"
	log "waiting up to ${wait}s for the primary at $host:$port"
	local deadline=$((SECONDS + wait))
	until pg_isready -q -h "$host" -p "$port" -U "$user" -d postgres; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "primary $host:$port did not answer within ${wait}s; check PG_PRIMARY_HOST/PG_PRIMARY_PORT and that the primary is running."
			exit 1
		fi
		sleep 1
	done
	local slot_args=()
	if [ -n "$PG_REPLICATION_SLOT" ]; then
		psql -h "$host" -p "$port" -U "$user" -d postgres --no-psqlrc -v ON_ERROR_STOP=1 -q -t \
			--set slot="$PG_REPLICATION_SLOT" <<-'SQL' >/dev/null
			SELECT pg_create_physical_replication_slot(:'slot')
			 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot');
		SQL
		slot_args=(--slot="$PG_REPLICATION_SLOT")
	fi
	log "cloning the primary $host:$port into $PGDATA with pg_basebackup"
	pg_basebackup -h "$host" -p "$port" -U "$user" -D "$PGDATA" -R -X stream -c fast \
		"${slot_args[@]}" --no-password
	chmod 700 "$PGDATA"
	unset PGPASSWORD
	log "standby of $host:$port initialized; it follows the primary (promote with pg_ctl promote or SELECT pg_promote())."
}

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -n "$PG_PRIMARY_HOST" ]; then
		init_standby
	else
		init_primary
	fi
fi

exec "$@"
