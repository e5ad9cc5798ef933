#!/usr/bin/env bash
# The whole test suite: installs what is missing (ci/setup.sh), then every crate's unit tests and the
# integration tests in tests/ (parity against PyTorchVideo, pixel parity, metrics against sklearn...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/ci/setup.sh"
cd "$root"
cargo test --release --workspace "$@"
