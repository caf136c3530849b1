#!/usr/bin/env bash
# Debian packages the template tests use; installs only what is missing.
set -euo pipefail
needed=()
command -v bwrap >/dev/null || needed+=(bubblewrap)
command -v unzip >/dev/null || needed+=(unzip)
command -v git >/dev/null || needed+=(git)
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${needed[*]}; install them with: sudo apt-get install -y ${needed[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
