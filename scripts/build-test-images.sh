#!/usr/bin/env bash
# Builds the test images locally from Debian packages (no registry needed); skips images that exist.
#   local/busybox:latest  — busybox-static with every applet linked in /bin
#   local/postgres:15     — PostgreSQL 15 from bookworm; initdb on an empty data dir; pg_isready healthcheck
#   local/redis:7         — Redis 7 (redis-server) from bookworm; args from the compose `command:`; data in /data
#   local/mariadb:10.11   — MariaDB 10.11 (mariadb-server) from bookworm; datadir initialised on first start
#   local/sqlite-app:1    — python3 (its sqlite3 module) from bookworm running images/sqlite-app.py: orders in
#                           SQLite in WAL mode at /data/shop.db, the database closed on SIGTERM
# Tests read CP_TEST_BUSYBOX_IMAGE / CP_TEST_POSTGRES_IMAGE / CP_TEST_REDIS_IMAGE / CP_TEST_MARIADB_IMAGE /
# CP_TEST_SQLITE_IMAGE, so a
# machine with Docker Hub can use others. The Debian mirror is the machine's own (its apt sources), or
# CP_DEBIAN_MIRROR; downloaded packages are shared between the images through one debootstrap cache.
set -euo pipefail

BUSYBOX_IMAGE=${CP_TEST_BUSYBOX_IMAGE:-local/busybox:latest}
POSTGRES_IMAGE=${CP_TEST_POSTGRES_IMAGE:-local/postgres:15}
REDIS_IMAGE=${CP_TEST_REDIS_IMAGE:-local/redis:7}
MARIADB_IMAGE=${CP_TEST_MARIADB_IMAGE:-local/mariadb:10.11}
SQLITE_IMAGE=${CP_TEST_SQLITE_IMAGE:-local/sqlite-app:1}
SUITE=bookworm
DEBOOTSTRAP_CACHE=${CP_DEBOOTSTRAP_CACHE:-/var/cache/compose-persist/debootstrap-$SUITE}
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "build-test-images: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_update_once
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

apt_update_once() { [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }; }

# The machine's Debian mirror for $SUITE, read from its apt sources (no host is written in this repository).
# shellcheck source=scripts/debian-mirror.sh
. "$here/debian-mirror.sh"

# debootstrap_rootfs ROOT PACKAGES: a minbase $SUITE rootfs with PACKAGES; .debs shared through the cache dir.
debootstrap_rootfs() {
  need_pkg debootstrap debootstrap
  local mirror
  mirror=$(debian_mirror "$SUITE")
  as_root mkdir -p "$DEBOOTSTRAP_CACHE"
  as_root debootstrap --variant=minbase --cache-dir="$DEBOOTSTRAP_CACHE" --include="$2" \
    "$SUITE" "$1" "$mirror" >/dev/null
}

# Keep the images small: docs, caches and apt lists are not needed at run time.
trim_rootfs() {
  as_root rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc "$1"/usr/share/man
}

build_busybox() {
  if have_image "$BUSYBOX_IMAGE"; then log "$BUSYBOX_IMAGE exists"; return; fi
  log "building $BUSYBOX_IMAGE from busybox-static"
  local work
  work=$(mktemp -d)
  chmod 755 "$work"
  (cd "$work" && apt-get download busybox-static >/dev/null 2>&1) || {
    apt_update_once
    (cd "$work" && apt-get download busybox-static >/dev/null)
  }
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/pkg"
  local root="$work/rootfs"
  mkdir -p "$root"/{bin,etc,tmp,root} && chmod 1777 "$root/tmp"
  cp "$work/pkg/bin/busybox" "$root/bin/busybox"
  local applet
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$BUSYBOX_IMAGE" >/dev/null
  rm -rf "$work"
}

build_postgres() {
  if have_image "$POSTGRES_IMAGE"; then log "$POSTGRES_IMAGE exists"; return; fi
  log "building $POSTGRES_IMAGE with debootstrap (about a minute)"
  local root
  root=$(mktemp -d)
  debootstrap_rootfs "$root" postgresql-15
  # The package made a cluster of its own under /var/lib/postgresql/15; the image uses $PGDATA instead.
  as_root rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"
  as_root install -m 0755 "$here/images/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  trim_rootfs "$root"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'VOLUME /var/lib/postgresql/data' \
    -c 'EXPOSE 5432' \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    - "$POSTGRES_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_redis() {
  if have_image "$REDIS_IMAGE"; then log "$REDIS_IMAGE exists"; return; fi
  log "building $REDIS_IMAGE with debootstrap (about a minute)"
  local root
  root=$(mktemp -d)
  debootstrap_rootfs "$root" redis-server,redis-tools
  as_root mkdir -p "$root/data"
  as_root chroot "$root" chown redis:redis /data
  as_root install -m 0755 "$here/images/redis-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  trim_rootfs "$root"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'VOLUME /data' \
    -c 'WORKDIR /data' \
    -c 'EXPOSE 6379' \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["redis-server"]' \
    - "$REDIS_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_mariadb() {
  if have_image "$MARIADB_IMAGE"; then log "$MARIADB_IMAGE exists"; return; fi
  log "building $MARIADB_IMAGE with debootstrap (about a minute)"
  local root
  root=$(mktemp -d)
  debootstrap_rootfs "$root" mariadb-server,mariadb-client
  # The package initialised a datadir of its own; the entry point initialises the mounted volume instead.
  as_root find "$root/var/lib/mysql" -mindepth 1 -delete
  as_root install -m 0755 "$here/images/mariadb-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  trim_rootfs "$root"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'VOLUME /var/lib/mysql' \
    -c 'EXPOSE 3306' \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["mariadbd"]' \
    - "$MARIADB_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_sqlite() {
  if have_image "$SQLITE_IMAGE"; then log "$SQLITE_IMAGE exists"; return; fi
  log "building $SQLITE_IMAGE with debootstrap (about a minute)"
  local root
  root=$(mktemp -d)
  debootstrap_rootfs "$root" python3
  as_root mkdir -p "$root/app" "$root/data"
  as_root install -m 0755 "$here/images/sqlite-app.py" "$root/app/app.py"
  trim_rootfs "$root"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'ENV APP_DB=/data/shop.db' \
    -c 'WORKDIR /app' \
    -c 'CMD ["python3", "/app/app.py", "serve"]' \
    - "$SQLITE_IMAGE" >/dev/null
  as_root rm -rf "$root"
}

build_busybox
build_postgres
build_redis
build_mariadb
build_sqlite
log "images ready: $BUSYBOX_IMAGE $POSTGRES_IMAGE $REDIS_IMAGE $MARIADB_IMAGE $SQLITE_IMAGE"
