#!/usr/bin/env bash
# The Debian mirror this machine's apt already uses for SUITE, read from its own sources (so no host is
# written in this repository): the deb822 files /etc/apt/sources.list.d/*.sources, then the one-line
# /etc/apt/sources.list and sources.list.d/*.list. CP_DEBIAN_MIRROR overrides; CP_APT_DIR replaces /etc/apt
# (tests). Source it for `debian_mirror SUITE`, or run it: `bash scripts/debian-mirror.sh bookworm`.

# debian_mirror SUITE: prints the first URI of an enabled `deb` source for exactly SUITE; fails if none.
debian_mirror() {
  local suite=$1 dir=${CP_APT_DIR:-/etc/apt} uri
  if [ -n "${CP_DEBIAN_MIRROR:-}" ]; then echo "$CP_DEBIAN_MIRROR"; return 0; fi
  local deb822=() oneline=()
  shopt -s nullglob
  deb822=("$dir"/sources.list.d/*.sources)
  oneline=("$dir"/sources.list "$dir"/sources.list.d/*.list)
  shopt -u nullglob
  uri=$( { [ ${#deb822[@]} -gt 0 ] && awk -v suite="$suite" "$DEB822_AWK" "${deb822[@]}"; } || true)
  if [ -z "$uri" ]; then
    local existing=()
    for file in "${oneline[@]}"; do [ -f "$file" ] && existing+=("$file"); done
    uri=$( { [ ${#existing[@]} -gt 0 ] && awk -v suite="$suite" "$ONELINE_AWK" "${existing[@]}"; } || true)
  fi
  if [ -z "$uri" ]; then
    echo "debian-mirror: no enabled 'deb' source for suite $suite in $dir/sources.list(.d): set CP_DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "${uri%/}"
}

# deb822 stanzas (blank-line separated): Types has deb, Suites has SUITE, Enabled is not no.
DEB822_AWK='
function flush() {
  if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no" && uris != "") {
    split(uris, list, " "); print list[1]; found = 1; exit
  }
  types = ""; suites = ""; uris = ""; enabled = ""
}
FNR == 1 && NR > 1 { flush() }
/^[ \t]*#/ { next }
/^[ \t]*$/ { flush(); next }
{
  field = tolower($1); sub(/:$/, "", field); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
  if (field == "types") types = value
  else if (field == "suites") suites = value
  else if (field == "uris") uris = value
  else if (field == "enabled") enabled = tolower(value)
}
END { if (!found) flush() }
'

# One-line sources: deb [options] URI SUITE COMPONENT...
ONELINE_AWK='
/^[ \t]*deb[ \t]/ {
  line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
  if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
  split(line, parts, /[ \t]+/)
  if (parts[2] == suite) { print parts[1]; exit }
}
'

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  debian_mirror "${1:?usage: debian-mirror.sh SUITE}"
fi
