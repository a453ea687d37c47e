#!/usr/bin/env bash
# Starts a private PulseAudio daemon whose only sink is a null sink, and makes that sink's
# monitor the default source: on a machine with no sound card (CI, a server) cpal then has a
# real output, and whatever is played comes back as microphone input. ALSA's `default` goes
# through PulseAudio via the pulse plugin (libasound2-plugins, installed by setup.sh).
# Idempotent: does nothing when the daemon already answers. Prints the environment to use:
#   eval "$(bash scripts/pulse-null.sh)"
set -euo pipefail
# A runtime directory of its own, so a desktop's own sound server is never touched.
export XDG_RUNTIME_DIR="/tmp/seqlab-pulse-$(id -u)"
unset PULSE_SERVER
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! pactl info >/dev/null 2>&1; then
  pulseaudio --daemonize=yes --exit-idle-time=-1 -n \
    --load="module-native-protocol-unix" \
    --load="module-null-sink sink_name=seqlab_null sink_properties=device.description=seqlab-null" \
    >/dev/null 2>&1
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pactl set-default-sink seqlab_null
pactl set-default-source seqlab_null.monitor
echo "export XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
