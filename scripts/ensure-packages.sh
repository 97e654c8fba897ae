#!/usr/bin/env bash
# Install the Debian packages named on the command line when their programs are missing.
# Installs with apt-get as root (or through sudo); otherwise names what to install and fails.
set -euo pipefail
declare -A probe=(
  [espeak-ng]=espeak-ng [sox]=sox [sip-tester]=sipp [baresip]=baresip [tshark]=tshark
  [postgresql]=initdb [curl]=curl
)
missing=()
for pkg in "$@"; do
  case $pkg in
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=("$pkg") ;;
    python3-venv) python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=("$pkg") ;;
    *) cmd=${probe[$pkg]:-$pkg}; command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo)
else
  echo "switchyard needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
