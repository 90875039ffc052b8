#!/bin/sh
# Entry point of local/mariadb:10.11, close to the official image: on an empty datadir (the mounted volume)
# run mariadb-install-db once — root logs in over the socket, so `mariadb -uroot` works inside the container —
# optionally create $MARIADB_DATABASE, then exec mariadbd as the mysql user, listening on the container's own
# network (no port is published by the image). A non-empty datadir is started as it is (seeding relies on it).
set -eu
DATADIR=/var/lib/mysql

if [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
if [ "${1:-}" = mariadbd ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" /run/mysqld
  chown mysql:mysql "$DATADIR" /run/mysqld
  if [ ! -d "$DATADIR/mysql" ]; then
    mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=socket >/dev/null
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --bootstrap <<SQL
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;
SQL
    fi
    echo "MariaDB init process complete; ready for start up."
  fi
  shift
  exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 "$@"
fi
exec "$@"
