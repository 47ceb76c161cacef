#!/bin/bash
# Entry point of heatwave-pgbouncer: writes pgbouncer.ini and userlist.txt from
# the environment (edoburu/pgbouncer's variable names), then runs pgbouncer as
# the postgres user. Passwords go to userlist.txt (mode 600), never to argv.
set -Eeo pipefail
CONFIG_DIR=/etc/pgbouncer
INI="$CONFIG_DIR/pgbouncer.ini"
AUTH_FILE="${AUTH_FILE:-$CONFIG_DIR/userlist.txt}"

if [ -n "$DATABASE_URL" ]; then
	# postgres://user:password@host:port/dbname
	rest="${DATABASE_URL#*://}"
	if [[ "$rest" == *@* ]]; then
		userpass="${rest%@*}"
		rest="${rest##*@}"
		DB_USER="${userpass%%:*}"
		[[ "$userpass" == *:* ]] && DB_PASSWORD="${userpass#*:}"
	fi
	hostport="${rest%%/*}"
	[[ "$rest" == */* ]] && DB_NAME="${rest#*/}"
	DB_HOST="${hostport%%:*}"
	[[ "$hostport" == *:* ]] && DB_PORT="${hostport#*:}"
fi

AUTH_TYPE="${AUTH_TYPE:-scram-sha-256}"

if [ ! -e "$AUTH_FILE" ]; then
	install -m 600 -o postgres -g postgres /dev/null "$AUTH_FILE"
fi
if [ -n "$DB_USER" ] && [ -n "$DB_PASSWORD" ] && ! grep -q "^\"$DB_USER\"" "$AUTH_FILE"; then
	if [ "$AUTH_TYPE" = 'md5' ]; then
		pass="md5$(printf '%s' "$DB_PASSWORD$DB_USER" | md5sum | cut -d' ' -f1)"
	else
		# plain and scram-sha-256: pgbouncer needs the password itself to log in to the server with SCRAM.
		pass="$DB_PASSWORD"
	fi
	printf '"%s" "%s"\n' "$DB_USER" "${pass//\"/\"\"}" >>"$AUTH_FILE"
fi

if [ ! -f "$INI" ]; then
	: "${DB_HOST:?heatwave-pgbouncer: set DB_HOST (or DATABASE_URL) to the PostgreSQL server}"
	{
		echo '[databases]'
		echo "${DB_NAME:-*} = host=$DB_HOST port=${DB_PORT:-5432}"
		echo
		echo '[pgbouncer]'
		echo "listen_addr = ${LISTEN_ADDR:-0.0.0.0}"
		echo "listen_port = ${LISTEN_PORT:-5432}"
		echo "unix_socket_dir = /var/run/pgbouncer"
		echo "auth_type = $AUTH_TYPE"
		echo "auth_file = $AUTH_FILE"
		echo "admin_users = ${ADMIN_USERS:-postgres}"
		echo "pool_mode = ${POOL_MODE:-session}"
		echo "max_client_conn = ${MAX_CLIENT_CONN:-200}"
		echo "default_pool_size = ${DEFAULT_POOL_SIZE:-20}"
		echo "ignore_startup_parameters = ${IGNORE_STARTUP_PARAMETERS:-extra_float_digits}"
		[ -n "$SERVER_RESET_QUERY" ] && echo "server_reset_query = $SERVER_RESET_QUERY"
		[ -n "$SERVER_CHECK_DELAY" ] && echo "server_check_delay = $SERVER_CHECK_DELAY"
		[ -n "$MAX_PREPARED_STATEMENTS" ] && echo "max_prepared_statements = $MAX_PREPARED_STATEMENTS"
		echo "server_login_retry = ${SERVER_LOGIN_RETRY:-1}"
		echo "dns_max_ttl = ${DNS_MAX_TTL:-5}"
		echo "log_connections = ${LOG_CONNECTIONS:-0}"
		echo "log_disconnections = ${LOG_DISCONNECTIONS:-0}"
	} >"$INI"
	echo "heatwave-pgbouncer: wrote $INI (${DB_NAME:-*} -> $DB_HOST:${DB_PORT:-5432}, port ${LISTEN_PORT:-5432}, $AUTH_TYPE)" >&2
fi
chown postgres:postgres "$INI" "$AUTH_FILE" 2>/dev/null || true
chmod 600 "$AUTH_FILE" 2>/dev/null || true

if [ "$(id -u)" = '0' ]; then
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
fi
exec "$@"
