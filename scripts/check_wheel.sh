#!/usr/bin/env bash
# The wheel as published: build the sdist and the wheel (python -m build: the wheel is built
# from the sdist, so both must be complete), check them (twine check --strict), install the wheel
# with every extra into a fresh virtual environment outside the clone, and there run the main
# job and one smoke test per plugin (scripts/wheel_smoke.py: each plugin's shipped data found).
#
#   scripts/check_wheel.sh [WORK_DIR]      (default: a new temporary folder, removed at the end)
#
# Uses the project's .venv (scripts/bootstrap.sh all,test) for build and twine; the fresh
# environment gets torch the same way as .venv (scripts/bootstrap.sh), and pip's cache.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/bootstrap.sh" all,test
venv=${ASKTELL_VENV:-$root/.venv}
if [ -n "${1:-}" ]; then
  work=$1; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi
case "$(cd "$work" && pwd)/" in "$root"/*) echo "WORK_DIR must be outside the clone" >&2; exit 2;; esac

echo "== build sdist and wheel" >&2
rm -rf "$work/dist"
"$venv/bin/python" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
"$venv/bin/twine" check --strict "$work"/dist/*
wheel=$(ls "$work"/dist/asktell-*.whl)
listing=$("$venv/bin/python" -m zipfile -l "$wheel")
for member in asktell_chem/data/qm9_5k.smi asktell_qml/data/qm9_subset.npz \
              asktell_rbm/data/digits_ge8.npz asktell/dashboard/templates/base.html \
              asktell/dashboard/static/dashboard.js; do
  grep -q "^$member " <<<"$listing" || { echo "the wheel lacks $member" >&2; exit 1; }
done

echo "== install $(basename "$wheel")[all] into a fresh environment" >&2
rm -rf "$work/venv"
# No .pyc compilation at install time: it is most of the time torch takes to install.
PIP_NO_COMPILE=1 ASKTELL_VENV="$work/venv" ASKTELL_SPEC="$wheel" "$root/scripts/bootstrap.sh" all

echo "== the main job and the smoke tests, outside the clone" >&2
cd "$work"
rm -rf runs
cp "$root/examples/logistic_xnes.toml" .
"$work/venv/bin/asktell" run logistic_xnes.toml --out runs/main --no-progress
"$work/venv/bin/python" "$root/scripts/wheel_smoke.py" "$root"
