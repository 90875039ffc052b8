#!/usr/bin/env bash
# Builds the test images locally from Debian packages (no registry needed); skips images that exist.
#   local/busybox:latest  — busybox-static with every applet linked in /bin
#   local/postgres:15     — PostgreSQL 15 from bookworm; initdb on an empty data dir; pg_isready healthcheck
# Tests read CP_TEST_BUSYBOX_IMAGE / CP_TEST_POSTGRES_IMAGE, so a machine with Docker Hub can use others.
set -euo pipefail

BUSYBOX_IMAGE=${CP_TEST_BUSYBOX_IMAGE:-local/busybox:latest}
POSTGRES_IMAGE=${CP_TEST_POSTGRES_IMAGE:-local/postgres:15}
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "build-test-images: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

build_busybox() {
  if have_image "$BUSYBOX_IMAGE"; then log "$BUSYBOX_IMAGE exists"; return; fi
  log "building $BUSYBOX_IMAGE from busybox-static"
  local work
  work=$(mktemp -d)
  chmod 755 "$work"
  (cd "$work" && apt-get download busybox-static >/dev/null 2>&1) || {
    [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
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
  need_pkg debootstrap debootstrap
  local root
  root=$(mktemp -d)
  as_root debootstrap --variant=minbase --include=postgresql-15 bookworm "$root" http://deb.debian.org/debian >/dev/null
  # The package made a cluster of its own under /var/lib/postgresql/15; the image uses $PGDATA instead.
  as_root rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"
  as_root install -m 0755 "$here/images/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  # Keep the image small: docs, caches and apt lists are not needed at run time.
  as_root rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man
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

build_busybox
build_postgres
log "images ready: $BUSYBOX_IMAGE $POSTGRES_IMAGE"
