#!/usr/bin/env bash
# Writes the seed corpus of the hlssink fuzz target (tests/fuzz/corpus/hlssink):
# short transport streams from mpegtsmux (H.264 from x264enc at 64x64 with
# MP3, AAC, alone, and restarted), each prefixed with the
# target's two settings bytes (see hlssink_fuzz.cpp).
#
#     tests/fuzz/make_hlssink_corpus.sh
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)/corpus/hlssink"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

video="videotestsrc num-buffers=90 pattern=ball ! video/x-raw,format=I420,width=64,height=64,framerate=30/1 ! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=30 ! h264parse"
mp3="audiotestsrc num-buffers=130 samplesperbuffer=1152 ! audio/x-raw,rate=48000,channels=1 ! lamemp3enc bitrate=32 ! mpegaudioparse"
aac="audiotestsrc num-buffers=140 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! voaacenc bitrate=32000 ! aacparse"

gst-launch-1.0 -q mpegtsmux name=m ! filesink location="$tmp/av-mp3.ts" $video ! m. $mp3 ! m.
gst-launch-1.0 -q mpegtsmux name=m ! filesink location="$tmp/av-aac.ts" $video ! m. $aac ! m.
gst-launch-1.0 -q mpegtsmux name=m ! filesink location="$tmp/audio.ts" $mp3 ! m.
gst-launch-1.0 -q mpegtsmux name=m ! filesink location="$tmp/video.ts" $video ! m.

seed() {  # SETTINGS-BYTE PIECE-BYTE NAME FILE (bytes in hex)
  { printf "\\x$1\\x$2"; cat "$4"; } > "$out/$3"
}
seed 01 00 av-mp3-1s "$tmp/av-mp3.ts"
seed 05 bc av-mp3-1s-requests-pieces "$tmp/av-mp3.ts"
seed 02 00 av-aac-2s "$tmp/av-aac.ts"
seed 00 07 audio-half-s-pieces "$tmp/audio.ts"
seed 01 00 video-1s "$tmp/video.ts"
# A publisher restart: the stream twice over, its timestamps starting again
# (a step back, which the segmenter reads as a discontinuity).
cat "$tmp/av-mp3.ts" "$tmp/av-mp3.ts" > "$tmp/twice.ts"
seed 01 00 av-mp3-twice "$tmp/twice.ts"
ls -l "$out"
