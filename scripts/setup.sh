#!/usr/bin/env bash
# Installs every Debian 12 package plaster needs to build, test and export its test models.
# Idempotent: installs only what is missing. docs/dependencies.md says why each one is here.
set -euo pipefail

packages=(
  # toolchain
  cmake ninja-build g++ ccache git
  # libraries plaster links
  libprotobuf-dev protobuf-compiler libonnx-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  # the torch engine: LibTorch, OpenBLAS (without it Debian's LibTorch uses the reference BLAS)
  # and oneDNN's headers (the library ATen already links, called directly for convolutions)
  libtorch-dev libopenblas0-pthread libdnnl-dev
  # Gloo's headers, for c10d's Gloo process group (plaster learn --nproc: data parallelism)
  libgloo-dev
  # datasets for the A letter: image folders (OpenCV's decoders and resize), .npz (zip archives)
  libopencv-imgcodecs-dev libopencv-imgproc-dev libopencv-core-dev libzip-dev
  # the opencv engine: OpenCV DNN's ONNX importer and layers, the second runtime
  libopencv-dnn-dev
  # ONNX's backend conformance suite (plaster conformance)
  libonnx-testdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools/export_models.py: real models from PyTorch, for the tests that check Size against it
  python3-torch python3-torchvision python3-onnx python3-numpy
  # the evaluation report tests: the record against its JSON Schema, the HTML report in a browser
  python3-jsonschema chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
