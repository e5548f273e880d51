#!/usr/bin/env bash
# The whole test suite from a clean checkout: install, configure, build (warnings are errors), test.
# Labels: unit, integration, slow (exports real models with PyTorch once, cached in build/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release
cmake --build --preset release
ctest --preset release "$@"
