#!/usr/bin/env bash
# Install the Debian packages tunelab needs, only those missing. Usage: install_system_deps.sh demo|test
set -euo pipefail
profile="${1:-demo}"
packages=(fluidsynth timgm6mb-soundfont)
if [ "$profile" = "test" ]; then
  packages+=(chromium chromium-driver postgresql)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
