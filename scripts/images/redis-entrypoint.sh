#!/bin/sh
# Entry point of local/redis:7, close to the official image: `redis-server ARGS` (from the compose `command:`)
# runs as the redis user in /data, with protected mode off (the container network is the boundary, as in the
# official image, so other services can connect without a password). Any other command runs as it is.
set -eu

if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "${1:-}" = redis-server ]; then
  shift
  case "${1:-}" in
    -v | --version | -h | --help | --test-memory | --check-system) exec redis-server "$@" ;;
  esac
  as_redis=
  if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data 2>/dev/null || true
    as_redis='setpriv --reuid=redis --regid=redis --init-groups'
  fi
  # A config file may only come first; our default goes after it, so the user's own options still win.
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    conf=$1
    shift
    exec $as_redis redis-server "$conf" --protected-mode no "$@"
  fi
  exec $as_redis redis-server --protected-mode no "$@"
fi
exec "$@"
