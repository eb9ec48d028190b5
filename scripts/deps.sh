#!/usr/bin/env bash
# Installs what the build needs on a Debian machine when it is missing and we
# are root; otherwise prints the exact command and fails. Called by `make`.
# Packages: GoogleTest, stb, OpenBLAS, FFmpeg (libraries and binaries), python3.
set -e
need=()
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
[ -f /usr/include/stb/stb_image.h ] || need+=(libstb-dev)
[ -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || [ -f /usr/include/openblas/cblas.h ] || need+=(libopenblas-dev)
# FFmpeg: the libraries for data/video_file.cpp (direct decoding of .avi/.mp4/
# .mkv/.webm), the ffmpeg binary for tools/prepare_frames.py and the tests
# that encode their own tiny videos.
for lib in avformat avcodec swscale avutil; do
  [ -f /usr/include/x86_64-linux-gnu/lib$lib/$lib.h ] || need+=(lib$lib-dev)
done
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
# python3 runs tools/prepare_frames.py in its end-to-end test.
command -v python3 >/dev/null || need+=(python3)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
else
  echo "deps: missing ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
