#!/usr/bin/env bash
# Prints a DOCKER_CONFIG directory whose cli-plugins/docker-compose is Debian forky's Compose (2.40): a client
# that asks "Recreate (data will be lost)?" (Compose 2.32+), for the test that proves we never hang on it. It
# works against the system engine (20.10) too. Downloaded the first time into a cache folder with a private apt
# config (the machine's apt state and its own compose plugin are left alone).
set -euo pipefail
# shellcheck source=scripts/debian-mirror.sh
. "$(dirname "$0")/debian-mirror.sh"
dir=${CP_COMPOSE_FORKY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/compose-persist/compose-forky}
plugin="$dir/config/cli-plugins/docker-compose"
if [ ! -x "$plugin" ]; then
  mirror=$(debian_mirror "$(. /etc/os-release && echo "$VERSION_CODENAME")")
  echo "compose-forky: downloading docker-compose from Debian forky ($mirror) into $dir" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work" # apt drops to _apt for downloads unless told otherwise
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb $mirror forky main" >"$work/sources.list"
  opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Dir::Cache::Archives="$work/cache/archives"
    -o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" download docker-compose >/dev/null)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
  mkdir -p "$dir/config/cli-plugins"
  install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugin.new"
  mv "$plugin.new" "$plugin"
fi
echo "$dir/config"
