#!/bin/sh
# Entry point of heatwave-haproxy: `IMAGE -f file` means `haproxy -f file`;
# haproxy runs in master-worker mode in the foreground as the haproxy user.
set -e
if [ "${1#-}" != "$1" ]; then
	set -- haproxy "$@"
fi
if [ "$1" = 'haproxy' ]; then
	shift
	set -- haproxy -W -db "$@"
	if [ "$(id -u)" = '0' ]; then
		exec setpriv --reuid=haproxy --regid=haproxy --init-groups "$@"
	fi
fi
exec "$@"
