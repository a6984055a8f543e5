#!/usr/bin/env bash
# Installs the Debian packages dematflow needs, only those missing, with one `apt-get update`.
set -euo pipefail
wanted=(ghostscript poppler-utils softhsm2 opensc chromium fonts-dejavu-core docker-compose libfaketime)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
