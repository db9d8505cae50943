#!/usr/bin/env bash
# Installs what Coldstart needs from the system when it is missing, saying each step in one line.
# Tested on Debian 12/13 and Ubuntu 22.04/24.04 (apt). Needs root (or sudo) to install; without
# it, prints the exact command and goes on.
#   run:  Python >= 3.11 with its venv module, Node.js >= 20 with npm, bubblewrap
#   test: also redis-server, PostgreSQL and Chromium
# Only the distro's package archive is used. Where the distro's nodejs is older than 20 (Debian
# 12 and Ubuntu 24.04 ship 18, Ubuntu 22.04 ships 12), `make` installs Node.js from PyPI into
# .venv instead (scripts/ensure-node.sh, pinned in requirements-node.txt): no other download.
# Usage: scripts/system-deps.sh run|test
set -euo pipefail
mode=${1:-run}
say() { echo "system-deps: $*"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
candidate_major() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*:\)\{0,1\}\([0-9]*\).*/\2/p'; }
python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if ! command -v apt-get >/dev/null; then
  say "no apt-get here: install Python >= 3.11 (with venv), Node.js >= 20 with npm and bubblewrap yourself"
  exit 0
fi
. /etc/os-release
say "${PRETTY_NAME:-this system}, mode '$mode'"
packages=()

# The package lists, once, when they are empty (a fresh machine or container).
if [ "$(id -u)" -eq 0 ] && ! compgen -G "/var/lib/apt/lists/*Packages*" >/dev/null; then
  say "apt-get update (the package lists are empty)"
  apt-get update -qq
fi

# Python >= 3.11 and its venv module (ensurepip): Debian and Ubuntu ship venv separately.
py_candidate=$(apt-cache policy python3 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*\.[0-9]*\).*/\1/p')
if python_ok python3; then
  python=python3 venv_pkg=python3-venv
elif ! command -v python3 >/dev/null && [ "${py_candidate#3.}" -ge 11 ] 2>/dev/null; then
  say "Python: installing python3 ($py_candidate) from ${NAME:-the distro}"
  python=python3 venv_pkg=python3-venv
  packages+=(python3)
else
  python=python3.11 venv_pkg=python3.11-venv  # Ubuntu 22.04: python3 is 3.10; 3.11 is in universe
  python_ok python3.11 || { say "Python: installing python3.11 (python3 here is older)"; packages+=(python3.11); }
fi
if python_ok "$python" && "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  say "Python: $("$python" --version 2>&1) with venv, ok"
else
  say "Python: installing $venv_pkg (the virtualenv module)"
  packages+=("$venv_pkg")
fi

# Node.js >= 20 and npm: the system's, else the distro's when new enough, else PyPI's (by make).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -ge 20 ] && command -v npm >/dev/null; then
  say "Node.js: $(node --version) with npm $(npm --version), ok"
else
  distro_major=$(candidate_major nodejs)
  if [ "${distro_major:-0}" -ge 20 ]; then
    say "Node.js: installing nodejs $distro_major and npm from ${NAME:-the distro}"
    packages+=(nodejs npm)
  else
    say "Node.js: ${NAME:-the distro} ${VERSION_ID:-} offers nodejs ${distro_major:-none} (< 20): make will install Node.js from PyPI into .venv (requirements-node.txt)"
  fi
fi

installed bubblewrap || { say "bubblewrap (sandbox namespaces): installing"; packages+=(bubblewrap); }

chromium_found() {
  [ -n "${CHROMIUM:-}" ] && return 0
  for c in chromium /snap/bin/chromium; do command -v "$c" >/dev/null && return 0; done
  return 1
}
if [ "$mode" = test ]; then
  installed redis-server || { say "redis-server (the Redis-mode tests): installing"; packages+=(redis-server); }
  installed postgresql || { say "postgresql (the scale-out test starts a throw-away cluster): installing"; packages+=(postgresql); }
  if chromium_found; then
    say "Chromium: ${CHROMIUM:-$(command -v chromium || echo /snap/bin/chromium)}, ok"
  elif [ "${ID:-}" = ubuntu ]; then
    # Ubuntu's chromium-browser deb only installs the snap; without snapd there is none to install.
    if command -v snap >/dev/null && [ "$(id -u)" -eq 0 ]; then
      say "Chromium: installing the chromium snap (Ubuntu packages Chromium only as a snap)"
      snap install chromium
    else
      say "Chromium: none found. Ubuntu packages it only as a snap: 'sudo snap install chromium', or '.venv/bin/python -m playwright install --with-deps chromium', or set CHROMIUM=/path/to/chromium"
    fi
  else
    say "Chromium (the browser tests): installing"
    packages+=(chromium)
  fi
fi

[ ${#packages[@]} -eq 0 ] && { say "nothing to install"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  say "missing: ${packages[*]}. Install them with: sudo apt-get install ${packages[*]}"
  exit 0
fi
say "apt-get install ${packages[*]} (a minute or two)"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
say "installed ${packages[*]}"
