#!/usr/bin/env bash
# Installs every system package seqlab needs on Debian 12, then (unless --install-only)
# builds and opens the app. Safe to run again: apt-get skips what is already there.
set -euo pipefail

packages=(
  build-essential pkg-config        # C toolchain for -sys crates
  libasound2-dev                    # ALSA headers for cpal (microphone, speakers)
  libx11-dev libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libgl1 libegl1 libgl1-mesa-dri  # eframe window + OpenGL (mesa)
  xvfb xauth                        # a virtual display for headless machines and screenshots
  espeak-ng flite sox               # TTS voices and audio tools for synthetic speech
  timgm6mb-soundfont                # small (6 MB) General MIDI SoundFont: the jazz synthesiser's default
  fluid-soundfont-gm                # large (148 MB) high-quality General MIDI SoundFont, used when TimGM6mb is absent
  pulseaudio pulseaudio-utils libasound2-plugins  # a null sink gives a real device where there is no sound card
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup: need root or sudo to run: $*" >&2; exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all system packages present"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust 1.95 or newer (https://rustup.rs) and run this again" >&2
  exit 1
fi

[ "${1:-}" = "--install-only" ] && exit 0
cd "$(dirname "$0")/.."
exec cargo run --release
