#!/usr/bin/env bash
# The GPU checks, in one go, on a machine with CUDA where asktell is installed (or importable):
# the gpu-marked tests, then every GPU benchmark. Each step has its own time limit, so one that
# hangs does not take the others with it; results land in benchmarks/results/ as usual.
#
#   benchmarks/gpu.sh [LOG_DIR]          (LOG_DIR defaults to benchmarks/results)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
logs=${1:-benchmarks/results}
mkdir -p "$logs"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
step() {  # step SECONDS NAME COMMAND...
  local limit=$1 name=$2; shift 2
  local t0=$SECONDS
  echo "=== $name"
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc after $((SECONDS - t0)) s"
  tail -n 25 "$logs/$name.log"
}
nvidia-smi -L
step 150 gpu_tests "$py" -m pytest -m gpu -q -p no:cacheprovider -o addopts="" tests
step 120 gpu_rbm "$py" benchmarks/gpu_rbm.py --device cuda
step 180 gpu_qml "$py" benchmarks/gpu_qml.py --device cuda
step 150 gpu_cinn "$py" benchmarks/gpu_cinn.py --device cuda
step 180 organ_speed "$py" benchmarks/organ_speed.py --device cuda --gpu-workers 14
