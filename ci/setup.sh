#!/usr/bin/env bash
# Installs what vbench needs, idempotently: Debian packages (FFmpeg dev, clang), the pinned torch
# venv (libtorch for tch + the PyTorchVideo/fvcore oracles), then builds. A second call takes seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

apt_pkgs=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libavfilter-dev libavdevice-dev libswresample-dev ffmpeg
  libjpeg62-turbo-dev chromium fonts-dejavu-core slurm-wlm munge procps)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$root/.venv"
stamp="$venv/.vbench-requirements"
if ! cmp -s "$root/ci/requirements.txt" "$stamp" 2>/dev/null; then
  py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null || py=python3
  log "installing the pinned venv in .venv from ci/requirements.txt (torch 2.13.0, about 5 GB on first use)"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -r "$root/ci/requirements.txt"
  cp "$root/ci/requirements.txt" "$stamp"
fi
