#!/usr/bin/env bash
# Makes a working Docker engine plus Compose v2 on a fresh Debian bookworm machine (no Docker Hub, no GitHub).
# Does nothing where `docker info` and `docker compose version` already work (a laptop, a GitHub runner).
# When it starts dockerd itself it writes the pid to $CP_DOCKERD_PIDFILE so the caller can stop it:
#   kill "$(cat /tmp/compose-persist-dockerd.pid)"
set -euo pipefail

PIDFILE=${CP_DOCKERD_PIDFILE:-/tmp/compose-persist-dockerd.pid}
LOGFILE=${CP_DOCKERD_LOG:-/tmp/compose-persist-dockerd.log}
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE_SUITE=${CP_COMPOSE_SUITE:-trixie}

log() { echo "setup-docker: $*" >&2; }
# shellcheck source=scripts/debian-mirror.sh
. "$(dirname "$0")/debian-mirror.sh"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

engine_ok() { docker info >/dev/null 2>&1; }
compose_ok() { docker compose version >/dev/null 2>&1; }

if engine_ok && compose_ok; then
  log "engine and compose already work; nothing to do"
  exit 0
fi

apt_updated=0
apt_update_once() {
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
}

install_engine() {
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io from Debian"
    apt_update_once
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io containerd runc iptables ca-certificates >/dev/null
  fi
}

# Trixie's docker-compose package ships the v2 plugin binary (linked to libc only). Fetch it with a private
# sources list so the machine's own sources stay bookworm-only; the mirror is the one those sources use.
install_compose() {
  compose_ok && return 0
  local mirror work
  mirror=$(debian_mirror "$(. /etc/os-release && echo "$VERSION_CODENAME")")
  log "installing the Compose v2 plugin from Debian $COMPOSE_SUITE ($mirror)"
  work=$(mktemp -d)
  chmod 755 "$work"  # apt drops to _apt for downloads
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  cat >"$work/sources.list" <<SRC
deb $mirror $COMPOSE_SUITE main
SRC
  local opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives" -o APT::Get::List-Cleanup=0)
  as_root apt-get "${opts[@]}" update -qq
  (cd "$work" && as_root apt-get "${opts[@]}" download docker-compose >/dev/null)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
  as_root mkdir -p "$PLUGIN_DIR"
  as_root install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
  as_root rm -rf "$work"
  compose_ok || { log "compose plugin installed but 'docker compose version' fails"; exit 1; }
}

start_engine() {
  engine_ok && return 0
  log "starting dockerd (log: $LOGFILE, pid file: $PIDFILE)"
  as_root sh -c "nohup dockerd >'$LOGFILE' 2>&1 & echo \$! >'$PIDFILE'"
  for _ in $(seq 1 60); do
    engine_ok && { log "engine is up"; return 0; }
    sleep 1
  done
  log "dockerd did not come up within 60 s; last log lines:"
  tail -n 30 "$LOGFILE" >&2 || true
  exit 1
}

install_engine
start_engine
install_compose
docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})' >&2
docker compose version >&2
