#!/usr/bin/env bash
# Installs what the build needs on a Debian machine when it is missing and we
# are root; otherwise prints the exact command and fails. Called by `make`.
# Packages: GoogleTest, stb, OpenBLAS, FFmpeg (libraries and binaries), Open MPI,
# python3.
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
# Open MPI: mpicxx and mpi.h for dist/mpi.cpp (the CPU collectives and the
# NCCL id exchange), mpirun for the multi-process tests (build/mpi_tests).
command -v mpicxx >/dev/null || need+=(libopenmpi-dev)
command -v mpirun >/dev/null || need+=(openmpi-bin)
# python3 runs tools/prepare_frames.py in its end-to-end test.
command -v python3 >/dev/null || need+=(python3)
# numpy and safetensors (PyPI) for tools/check_safetensors.py, which
# tests/test_safetensors_encoders.cpp runs; pip itself from Debian if absent.
py=0
python3 -c 'import numpy, safetensors' >/dev/null 2>&1 || py=1
if [ $py = 1 ]; then
  command -v python3 >/dev/null || need+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
fi
[ ${#need[@]} -eq 0 ] && [ $py = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
  fi
  if [ $py = 1 ]; then
    echo "deps: installing numpy safetensors (pip)"
    export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
    python3 -m pip install --break-system-packages -q numpy safetensors ||
      python3 -m pip install -q numpy safetensors ||
      echo "deps: pip could not install numpy safetensors; the safetensors Python check will fail in CI" >&2
  fi
else
  [ ${#need[@]} -eq 0 ] || { echo "deps: missing ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2; exit 1; }
  echo "deps: python3 lacks numpy/safetensors (its test is skipped outside CI); run: python3 -m pip install --user numpy safetensors" >&2
fi
