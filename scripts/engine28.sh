#!/usr/bin/env bash
# A current Docker engine beside the system one, for the tests: Debian forky's dockerd 28.5 + containerd 2.1 +
# Compose 2.40 (+ the docker CLI 28.5 and tini-static), downloaded with a private apt config (the machine's
# apt state is not touched; the mirror is the one its sources use), extracted into a cache folder — never
# installed over the system engine — and started in a network namespace of its own.
#
#   bash scripts/engine28.sh start [STORE]   download (once), start, copy the test images in (idempotent)
#   bash scripts/engine28.sh env [STORE]     prints the exports that point docker, compose and the tests at it
#   bash scripts/engine28.sh run [STORE] -- CMD...   runs CMD with those exports inside the engine's netns
#   bash scripts/engine28.sh status [STORE]  exit 0 when it answers
#   bash scripts/engine28.sh stop [STORE|all]   stops it and leaves no process, mount, netns or cgroup behind
#   bash scripts/engine28.sh purge           stop all, then remove the engines' data and the download cache
#
# STORE is `overlay2` (default: the graph-driver image store, what Docker 28 installs use) or `containerd`
# (the containerd image store, Docker 29's default on fresh installs: containerd-snapshotter + overlayfs).
# Each store is its own instance (own netns, bridge, address pool, data root, exec root, sockets, containerd),
# so both can run at once.
#
# Why a network namespace (checked, see FACTS.md): in the host namespace dockerd 28 deletes the interface
# docker0 — the system engine's bridge — when started with --bridge=none or restarted with an address pool.
# In its own namespace it only ever sees its own bridge. Ports its containers publish on 127.0.0.1 live in that
# namespace too, so whatever dials them must run there: `engine28.sh run -- CMD` (nsenter --net, not
# `ip netns exec`, which remounts /sys and hides the cgroup v1 hierarchies dockerd needs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SUITE=${CP_ENGINE28_SUITE:-forky}
PACKAGES=(docker.io docker-cli containerd docker-compose tini-static)
CACHE=${CP_ENGINE28_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/compose-persist/engine28}
ROOT=$CACHE/root
# The test images (defaults of __tests__/support/images.ts), copied from the system engine.
IMAGES=(
  "${CP_TEST_BUSYBOX_IMAGE:-local/busybox:latest}"
  "${CP_TEST_POSTGRES_IMAGE:-local/postgres:15}"
  "${CP_TEST_REDIS_IMAGE:-local/redis:7}"
  "${CP_TEST_MARIADB_IMAGE:-local/mariadb:10.11}"
  "${CP_TEST_SQLITE_IMAGE:-local/sqlite-app:1}"
)

log() { echo "engine28: $*" >&2; }
die() { log "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# instance STORE: sets the names and paths of one instance. Interface names stay under 15 characters.
instance() {
  STORE=${1:-overlay2}
  case $STORE in
    overlay2) NAME=cp28 NET=10.228 POOL=10.229.0.0/16 ;;
    containerd) NAME=cp28c NET=10.230 POOL=10.231.0.0/16 ;;
    *) die "unknown store '$STORE': use overlay2 or containerd" ;;
  esac
  NETNS=/run/netns/$NAME
  BRIDGE=${NAME}br
  RUN=/run/cp-engine28-$STORE
  DATA=/var/lib/cp-engine28-$STORE
  SOCK=$RUN/docker.sock
  CTRD_SOCK=$RUN/containerd/containerd.sock
  LOG=$RUN/dockerd.log
  CTRD_LOG=$RUN/containerd.log
}

# ---- download: forky's packages into $ROOT, once ---------------------------------------------------------

fetch() {
  [ -x "$ROOT/usr/sbin/dockerd" ] && [ -x "$ROOT/usr/bin/containerd" ] && [ -x "$ROOT/usr/bin/docker" ] &&
    [ -x "$ROOT/usr/libexec/docker/cli-plugins/docker-compose" ] && [ -x "$ROOT/usr/bin/tini-static" ] && return 0
  # shellcheck source=scripts/debian-mirror.sh
  . "$here/debian-mirror.sh"
  local mirror apt
  mirror=$(debian_mirror "$(. /etc/os-release && echo "$VERSION_CODENAME")")
  log "downloading ${PACKAGES[*]} from Debian $SUITE ($mirror) into $CACHE"
  apt=$CACHE/apt
  rm -rf "$apt" "$ROOT.new"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  echo "deb $mirror $SUITE main" >"$apt/sources.list"
  local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Dir::Cache::Archives="$apt/cache/archives"
    -o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update -qq
  (cd "$apt/debs" && apt-get "${opts[@]}" download "${PACKAGES[@]/%//$SUITE}" >/dev/null)
  local deb
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT.new"; done
  rm -rf "$ROOT" && mv "$ROOT.new" "$ROOT"
  rm -rf "$apt"
  # What the tests put first on PATH: the docker CLI 28.5 only (nothing else of the engine).
  mkdir -p "$CACHE/bin" "$CACHE/docker-config/cli-plugins"
  ln -sfn "$ROOT/usr/bin/docker" "$CACHE/bin/docker"
  ln -sfn "$ROOT/usr/libexec/docker/cli-plugins/docker-compose" "$CACHE/docker-config/cli-plugins/docker-compose"
}

# ---- start ------------------------------------------------------------------------------------------------

in_netns() { nsenter --net="$NETNS" -- "$@"; }
engine_path() { echo "$ROOT/usr/sbin:$ROOT/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
answers() { [ -S "$SOCK" ] && DOCKER_HOST=unix://$SOCK "$ROOT/usr/bin/docker" info >/dev/null 2>&1; }

make_netns() {
  [ -e "$NETNS" ] || ip netns add "$NAME"
  # Refuse to go on unless the namespace really is another one: dockerd in the host's would delete docker0.
  [ "$(stat -L -c %i "$NETNS")" != "$(stat -L -c %i /proc/self/ns/net)" ] ||
    die "$NETNS is the host's network namespace; not starting dockerd there"
  in_netns ip link set lo up
  if ! in_netns ip link show "$BRIDGE" >/dev/null 2>&1; then
    in_netns ip link add name "$BRIDGE" type bridge
    in_netns ip address add "$NET.0.1/24" dev "$BRIDGE"
    in_netns ip link set "$BRIDGE" up
  fi
}

start_containerd() {
  alive "$RUN/containerd.pid" && return 0
  mkdir -p "$RUN/containerd" "$DATA/containerd" "$DATA/opt"
  # containerd 2.1's config v3: its own root, state and sockets; CRI (Kubernetes) and NRI are not needed.
  cat >"$RUN/containerd.toml" <<TOML
version = 3
root = "$DATA/containerd"
state = "$RUN/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA/opt"
TOML
  # A simple command in the background: $! is containerd itself (nsenter and setsid exec, they do not fork).
  PATH=$(engine_path) nsenter --net="$NETNS" -- setsid "$ROOT/usr/bin/containerd" --config "$RUN/containerd.toml" \
    >>"$CTRD_LOG" 2>&1 </dev/null &
  echo $! >"$RUN/containerd.pid"
  wait_for "containerd" "$RUN/containerd.pid" "$CTRD_LOG" test -S "$CTRD_SOCK"
}

start_dockerd() {
  alive "$RUN/dockerd.pid" && answers && return 0
  mkdir -p "$DATA/docker" "$RUN/docker"
  local args=(
    --data-root="$DATA/docker" --exec-root="$RUN/docker" --pidfile="$RUN/dockerd.pid"
    --host="unix://$SOCK" --containerd="$CTRD_SOCK" --config-file="$RUN/daemon.json"
    --bridge="$BRIDGE" --default-address-pool="base=$POOL,size=24"
    --iptables=false --ip6tables=false --ip-masq=false --cgroup-parent="/$NAME"
    --userland-proxy-path="$ROOT/usr/sbin/docker-proxy" --init-path="$ROOT/usr/bin/tini-static"
  )
  if [ "$STORE" = containerd ]; then
    echo '{"features": {"containerd-snapshotter": true}}' >"$RUN/daemon.json"
    args+=(--storage-driver=overlayfs)
  else
    echo '{}' >"$RUN/daemon.json" # none of the machine's /etc/docker/daemon.json
    args+=(--storage-driver=overlay2)
  fi
  rm -f "$RUN/dockerd.pid"
  PATH=$(engine_path) nsenter --net="$NETNS" -- setsid "$ROOT/usr/sbin/dockerd" "${args[@]}" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$RUN/dockerd.launch.pid"
  wait_for "dockerd" "$RUN/dockerd.launch.pid" "$LOG" answers
  rm -f "$RUN/dockerd.launch.pid"
}

# wait_for WHAT PIDFILE LOGFILE CHECK...: until CHECK passes (60 s), failing early if the process died.
wait_for() {
  local what=$1 pidfile=$2 logfile=$3
  shift 3
  for _ in $(seq 1 240); do
    "$@" && return 0
    alive "$pidfile" || { tail -n 30 "$logfile" >&2; die "$what exited while starting (log: $logfile)"; }
    sleep 0.25
  done
  tail -n 30 "$logfile" >&2
  die "$what did not come up within 60 s (log: $logfile)"
}

# Copies the test images from the system engine (nothing can be pulled here); again when one was rebuilt.
load_images() {
  local want=() image id have
  for image in "${IMAGES[@]}"; do
    id=$(env -u DOCKER_HOST -u DOCKER_CONTEXT docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) ||
      die "the system engine has no $image: run scripts/build-test-images.sh first"
    have=$(grep -sxF "$image $id" "$DATA/loaded-images" || true)
    if [ -z "$have" ] || ! DOCKER_HOST=unix://$SOCK "$ROOT/usr/bin/docker" image inspect "$image" >/dev/null 2>&1; then
      want+=("$image")
    fi
  done
  [ ${#want[@]} -gt 0 ] || return 0
  log "copying ${want[*]} from the system engine"
  env -u DOCKER_HOST -u DOCKER_CONTEXT docker save "${want[@]}" |
    DOCKER_HOST=unix://$SOCK "$ROOT/usr/bin/docker" load -q >/dev/null
  : >"$DATA/loaded-images.new"
  for image in "${IMAGES[@]}"; do
    echo "$image $(env -u DOCKER_HOST -u DOCKER_CONTEXT docker image inspect -f '{{.Id}}' "$image")" >>"$DATA/loaded-images.new"
  done
  mv "$DATA/loaded-images.new" "$DATA/loaded-images"
}

start() {
  mkdir -p "$(dirname "$CACHE")"
  exec 9>"$CACHE.lock" # one download at a time when both stores start at once
  flock 9
  fetch
  flock -u 9
  mkdir -p "$RUN" "$DATA"
  make_netns
  start_containerd
  start_dockerd
  load_images
  log "$STORE: dockerd $("$ROOT/usr/bin/docker" -H "unix://$SOCK" version -f '{{.Server.Version}}') in netns $NAME," \
    "compose $("$ROOT/usr/libexec/docker/cli-plugins/docker-compose" version --short), socket $SOCK"
}

print_env() {
  cat <<ENV
export DOCKER_HOST=unix://$SOCK
export DOCKER_CONFIG=$CACHE/docker-config
export PATH=$CACHE/bin:\$PATH
export CP_ENGINE28_NETNS=$NETNS
export CP_TEST_DOCKERD_PATH=$ROOT/usr/sbin:$ROOT/usr/bin
ENV
}

run_in() {
  [ -S "$SOCK" ] || die "the $STORE engine is not running: bash scripts/engine28.sh start $STORE"
  eval "$(print_env)"
  unset DOCKER_CONTEXT
  exec nsenter --net="$NETNS" -- "$@"
}

# ---- stop: nothing left behind ------------------------------------------------------------------------------

# stop_pid PIDFILE SECONDS: SIGTERM, then SIGKILL after SECONDS.
stop_pid() {
  alive "$1" || return 0
  local pid
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $(($2 * 4))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  log "pid $pid did not stop within $2 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
}

stop_one() {
  instance "$1"
  [ -d "$RUN" ] || [ -e "$NETNS" ] || return 0
  log "stopping the $STORE engine"
  # dockerd stops its containers on SIGTERM (each within its own stop timeout) before it exits.
  stop_pid "$RUN/dockerd.pid" 90
  stop_pid "$RUN/dockerd.launch.pid" 10
  stop_pid "$RUN/containerd.pid" 30
  # What is left was started by this engine: container processes (in its cgroup parent), shims and proxies
  # (in its netns).
  local pids
  pids=$(cat /sys/fs/cgroup/*/"$NAME"/*/cgroup.procs /sys/fs/cgroup/"$NAME"/*/cgroup.procs 2>/dev/null | sort -u || true)
  [ -e "$NETNS" ] && pids="$pids $(ip netns pids "$NAME" 2>/dev/null || true)"
  pids=$(echo "$pids" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -u | tr '\n' ' ' || true)
  if [ -n "${pids// /}" ]; then
    log "killing what the $STORE engine left running: $pids"
    # shellcheck disable=SC2086 # a list of pids
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
  fi
  unmount_under "$RUN" "$DATA"
  [ -e "$NETNS" ] && ip netns delete "$NAME"
  # `ip netns add` bind-mounts /run/netns on itself the first time; undo that when no namespace is left
  # (umount fails, harmlessly, while one is).
  if [ -z "$(ls -A /run/netns 2>/dev/null)" ] && mountpoint -q /run/netns; then umount /run/netns 2>/dev/null || true; fi
  remove_cgroups
  rm -rf "$RUN"
}

# Unmounts everything mounted below the given folders, deepest first.
unmount_under() {
  local dir mounts
  for dir in "$@"; do
    mounts=$(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    for mount in $mounts; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done
  done
}

# The cgroup parent dockerd made (cgroup v1: one per hierarchy; v2: one), children first.
remove_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/"$NAME" /sys/fs/cgroup/"$NAME"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    start) instance "${1:-}"; start ;;
    env) instance "${1:-}"; print_env ;;
    status) instance "${1:-}"; answers ;;
    run)
      local store=overlay2
      if [ "${1:-}" != -- ] && [ -n "${1:-}" ]; then store=$1; shift; fi
      [ "${1:-}" = -- ] && shift
      [ $# -gt 0 ] || die "usage: engine28.sh run [STORE] -- CMD..."
      instance "$store"
      run_in "$@"
      ;;
    stop)
      if [ "${1:-all}" = all ]; then stop_one overlay2; stop_one containerd; else stop_one "$1"; fi
      ;;
    purge)
      stop_one overlay2
      stop_one containerd
      for store in overlay2 containerd; do instance "$store"; unmount_under "$DATA"; rm -rf "$DATA"; done
      rm -rf "$CACHE" "$CACHE.lock"
      ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"
main "$@"
