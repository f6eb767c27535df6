#!/usr/bin/env bash
# Create (or update) the project's virtual environment and install asktell with some extras.
#
#   scripts/bootstrap.sh EXTRAS      e.g. scripts/bootstrap.sh plot  or  scripts/bootstrap.sh all,test
#
# Environment: ASKTELL_VENV (default .venv), PYTHON (default python3), ASKTELL_SPEC (what to
# install instead of the editable clone, e.g. a built wheel: scripts/check_wheel.sh uses it).
# torch: where no NVIDIA GPU is present, the CPU build is installed first from a local wheel when
# pip's find-links has one, so the unpinned `torch` requirement never pulls a multi-GB CUDA build
# onto a CPU-only machine. Without a local wheel, torch comes from wherever pip's own configuration
# points (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_CONSTRAINT, pip.conf): this script names no
# package index. README.md says how a CPU-only user points pip at PyTorch's CPU builds.
# Users are not pinned to any version.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
extras=${1:-}
venv=${ASKTELL_VENV:-$root/.venv}
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  echo "creating virtual environment $venv" >&2
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
stamp="$venv/.asktell-$(printf '%s' "$extras" | tr ',' '-')"
want=$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)
if [ -n "${ASKTELL_SPEC:-}" ]; then
  want=$(cat "$ASKTELL_SPEC" | sha256sum | cut -c1-16)
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

case ",$extras," in
  *,torch,*|*,all,*|*,organ,*|*,rbm,*|*,cinn,*|*,fcd,*)
    if ! "$vpy" -c "import torch" >/dev/null 2>&1; then
      if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        echo "NVIDIA GPU found: torch comes from PyPI (CUDA build)" >&2
      elif "$vpy" -m pip install -q --no-index --no-deps torch >/dev/null 2>&1; then
        echo "no GPU: installed torch's CPU build from a local wheel" >&2
      else
        echo "no GPU and no local torch wheel: torch comes from pip's configured index" \
          "(for the CPU build, point PIP_EXTRA_INDEX_URL at PyTorch's CPU wheels; see README.md)" >&2
      fi
    fi
    ;;
esac

if [ -n "${ASKTELL_SPEC:-}" ]; then
  spec="$ASKTELL_SPEC"
  [ -n "$extras" ] && spec="$spec[$extras]"
  "$vpy" -m pip install -q "$spec"
else
  spec="$root"
  [ -n "$extras" ] && spec="$root[$extras]"
  "$vpy" -m pip install -q -e "$spec"
fi
echo "$want" > "$stamp"
