#!/usr/bin/env bash
# Regenerates every prompt in this directory from scratch. Run from the repo root:
#   sounds/generate.sh
# Requires sox and espeak-ng. The outputs are committed; see PROVENANCE.md.
set -euo pipefail
cd "$(dirname "$0")"
# A 1 s 440 Hz tone at -6 dBFS, 8 kHz mono 16-bit PCM.
sox -n -r 8000 -c 1 -b 16 tone-440.wav synth 1.0 sine 440 vol 0.5
# A 250 ms 1 kHz beep.
sox -n -r 8000 -c 1 -b 16 beep.wav synth 0.25 sine 1000 vol 0.5
# A 3 s spoken test prompt (espeak-ng, then resampled to 8 kHz mono).
espeak-ng -v en-us -w /tmp/switchyard-prompt.wav "This is the switchyard test prompt. One two three four five six seven."
sox /tmp/switchyard-prompt.wav -r 8000 -c 1 -b 16 test-prompt.wav trim 0 3.0 pad 0 0
rm -f /tmp/switchyard-prompt.wav
# The same 3 s prompt as mu-law WAV, for the codec path tests.
sox test-prompt.wav -e u-law -r 8000 -c 1 test-prompt-ulaw.wav
