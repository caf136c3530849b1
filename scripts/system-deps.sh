#!/usr/bin/env bash
# What the template tests need from the system, set up only where missing (idempotent):
# - Debian packages: bubblewrap (the sandbox runner), unzip, git, Docker Engine (docker.io),
#   debootstrap (stand-ins of the Lambda base images), qemu-user-static (arm64 under emulation),
#   chromium with a font (pages and the docs site opened headless by tests/browser.py);
# - a running Docker daemon (started here when `docker info` fails);
# - arm64 binaries registered with binfmt_misc, so arm64 images build and run on x86_64.
set -euo pipefail

log() { echo "[system-deps] $*" >&2; }

as_root_or_say() {
  if [ "$(id -u)" -ne 0 ]; then
    log "$1; as root: $2"
    exit 1
  fi
}

# ------------------------------------------------------------------------------------ packages
needed=()
command -v bwrap >/dev/null || needed+=(bubblewrap)
command -v unzip >/dev/null || needed+=(unzip)
command -v git >/dev/null || needed+=(git)
command -v dockerd >/dev/null || needed+=(docker.io)
command -v debootstrap >/dev/null || needed+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || needed+=(qemu-user-static)
command -v chromium >/dev/null || needed+=(chromium)
# Without a font, headless Chromium renders text as nothing and screenshots look blank.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || needed+=(fonts-dejavu-core)
if [ ${#needed[@]} -gt 0 ]; then
  as_root_or_say "missing: ${needed[*]}" "apt-get install -y ${needed[*]}"
  log "installing ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

# ------------------------------------------------------------------------------ docker daemon
if ! docker info >/dev/null 2>&1; then
  as_root_or_say "the Docker daemon is not running" "dockerd &  (or: systemctl start docker)"
  log "starting dockerd (log: /var/log/dockerd-template-tests.log)"
  # setsid: the daemon outlives this script and the test run (like a system service would).
  setsid dockerd >/var/log/dockerd-template-tests.log 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not come up within 60 s; its log ends with:"
    tail -n 20 /var/log/dockerd-template-tests.log >&2
    exit 1
  fi
fi

# ----------------------------------------------------------------------------- arm64 emulation
binfmt=/proc/sys/fs/binfmt_misc
if [ "$(uname -m)" != aarch64 ] && [ ! -e "$binfmt/qemu-aarch64" ]; then
  as_root_or_say "arm64 emulation is not registered" "mount binfmt_misc and register qemu-aarch64-static"
  if [ ! -e "$binfmt/register" ]; then
    mount -t binfmt_misc binfmt_misc "$binfmt"
  fi
  if [ ! -e "$binfmt/qemu-aarch64" ]; then
    # Debian's entry, with the static interpreter and flag F (the kernel opens the interpreter
    # now, so it also works inside chroots and containers, which do not have it).
    IFS=: read -r _ name type offset magic mask _interpreter _flags < /usr/lib/binfmt.d/qemu-aarch64.conf
    printf ':%s:%s:%s:%s:%s:%s:%s' "$name" "$type" "$offset" "$magic" "$mask" \
      /usr/bin/qemu-aarch64-static F > "$binfmt/register"
    log "registered arm64 emulation (qemu-aarch64-static)"
  fi
fi
