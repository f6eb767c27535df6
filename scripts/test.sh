#!/usr/bin/env bash
# The test suite: creates .venv on first use with every extra (torch's CPU build where no GPU is
# present), installs the example third-party plugin, lints, and runs pytest. Extra arguments go
# to pytest (e.g. scripts/test.sh -m slow).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh" all,test
venv=${ASKTELL_VENV:-$root/.venv}
"$venv/bin/python" -m pip install -q -e "$root/examples/asktell-example-plugin" \
  -e "$root/examples/asktell-example-estimator"
cd "$root"
"$venv/bin/ruff" check .
ASKTELL_REQUIRE_EXAMPLE_PLUGIN=1 exec "$venv/bin/python" -m pytest "$@"
