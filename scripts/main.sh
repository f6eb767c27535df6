#!/usr/bin/env bash
# The main job: the PINTS ask-and-tell notebook (logistic model, XNES, 500 iterations) as an
# asktell run. Creates .venv on first use. Extra arguments go to `asktell run`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh" plot
venv=${ASKTELL_VENV:-$root/.venv}
cd "$root"
exec "$venv/bin/asktell" run examples/logistic_xnes.toml "$@"
