#!/usr/bin/env bash
# The whole test suite (README command 2): a private PulseAudio daemon with a null sink gives
# the audio tests a real speaker and microphone on any machine, then `cargo test --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/pulse-null.sh)"
export SEQLAB_AUDIO_TESTS=1
exec cargo test --release "$@"
