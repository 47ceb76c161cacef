#!/bin/sh
# Entry point of heatwave-valkey: `IMAGE --flag value` means
# `valkey-server --flag value`; runs as the redis user; without a config file,
# protected mode is turned off (the container network is the boundary).
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- valkey-server "$@"
fi
case "$1" in
valkey-server | redis-server)
	if [ "$(id -u)" = '0' ]; then
		find . \! -user redis -exec chown redis '{}' +
		exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
	fi
	if [ "${2%.conf}" = "${2:-}" ]; then
		case " $* " in
		*" --protected-mode "*) ;;
		*) set -- "$@" --protected-mode no ;;
		esac
	fi
	;;
esac
exec "$@"
