#!/usr/bin/env bash
# Everything a fresh Debian bookworm machine needs to run compose-persist and its tests:
# a Docker engine with Compose v2, zstd, bzip2, xz, gpg, age, the ssh client and agent (the ssh:// engine tests), the locally
# built test images, Node 24 (what CI runs on) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bash scripts/setup-docker.sh
missing=()
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v ssh-agent >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# Foreign backups: bzip2 and xz archives, gpg-encrypted ones; age makes the age test files.
command -v bzip2 >/dev/null 2>&1 || missing+=(bzip2)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v gpg >/dev/null 2>&1 || missing+=(gpg)
command -v gpgconf >/dev/null 2>&1 || missing+=(gpgconf)
command -v age >/dev/null 2>&1 || missing+=(age)
# The data-path tests set and read ACLs and xattrs on volumes.
command -v setfacl >/dev/null 2>&1 || missing+=(acl)
command -v setfattr >/dev/null 2>&1 || missing+=(attr)
# The host data path through `sudo -n`, as a GitHub runner's user takes it.
command -v sudo >/dev/null 2>&1 || missing+=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/build-test-images.sh
# A user like a GitHub runner's (not root, in the docker group, passwordless sudo; no password, so no login):
# the data-path tests run the CLI as it when they run as root.
if [ "$(id -u)" = 0 ] && ! id cp-runner >/dev/null 2>&1; then
  # In the group that may use the engine's socket, where there is one (dockerd makes its socket root:docker).
  groups=()
  getent group docker >/dev/null && groups=(--groups docker)
  useradd --create-home "${groups[@]}" cp-runner
  echo 'cp-runner ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/cp-runner
  chmod 0440 /etc/sudoers.d/cp-runner
fi
bash scripts/node24.sh >/dev/null # Node 24, what CI runs on (a cache folder, not global)
# A linked node_modules belongs to another checkout (a git worktree): reinstalling it would pull it from under that.
if [ -L node_modules ]; then
  echo "setup: node_modules is a link; leaving it alone" >&2
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
