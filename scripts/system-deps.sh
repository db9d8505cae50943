#!/usr/bin/env bash
# Installs the Debian packages the sandbox and the tests need, when they are missing.
# Usage: scripts/system-deps.sh run|test
set -euo pipefail
need=(bubblewrap)
if [ "${1:-run}" = test ]; then need+=(redis-server postgresql chromium); fi
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
