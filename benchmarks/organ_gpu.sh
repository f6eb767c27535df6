#!/usr/bin/env bash
# ORGAN's GPU measurements in one go, within a time budget, for a lent GPU machine where
# asktell is importable:
#   1. benchmarks/organ_speed.py: the CPU epoch against the GPU epoch (QED on 14 workers);
#   2. at the same time, on the rest of the budget:
#      benchmarks/organ_qm9.py, the SA-ORGAN paper's 200 epochs x 3 seeds for ORGAN and SA-ORGAN
#      with R = validity and R = novelty (12 runs, one process each, stopped at the budget's end
#      at the last whole epoch; the table names the epochs reached), and
#      benchmarks/organ_ablation.py with ORGAN's own discriminator against the default one
#      (25 epochs, R = validity, results name organ_ablation_gpu).
# Every 20 s, and at the end, the results and logs are packed into OUT_DIR/results.tgz, so a
# run cut short still returns what finished. The reproduction keeps checkpoints in
# ORGAN_CKPT (default /tmp/organ_qm9_ckpt): calling this script again on the same machine
# continues every run where the time limit stopped it (organ_speed and the ablation run again).
#
#   benchmarks/organ_gpu.sh OUT_DIR [BUDGET_SECONDS]      (budget defaults to 540)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: organ_gpu.sh OUT_DIR [BUDGET_SECONDS]}
budget=${2:-540}
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
logs=benchmarks/results/organ_gpu_logs
ckpt=${ORGAN_CKPT:-/tmp/organ_qm9_ckpt}
mkdir -p "$out" "$logs"
pack() {
  tar czf "$out/.results.tgz" benchmarks/results/organ_* 2>/dev/null \
    && mv -f "$out/.results.tgz" "$out/results.tgz"
}
(while sleep 20; do pack; done) &
packer=$!
nvidia-smi -L

echo "=== organ_speed ($SECONDS s)"
timeout 170 "$py" benchmarks/organ_speed.py --device cuda --gpu-workers 14 \
  > "$logs/organ_speed.log" 2>&1
echo "=== organ_speed: exit $? at $SECONDS s"
tail -n 12 "$logs/organ_speed.log"

left=$((budget - SECONDS - 20))
echo "=== organ_qm9 200 epochs and organ_ablation_gpu, $left s left ($SECONDS s)"
timeout "$left" "$py" benchmarks/organ_qm9.py --epochs 200 --seeds 3 --jobs 12 --device cuda \
  --time-limit $((left - 15)) --checkpoint-dir "$ckpt" --out organ_qm9_gpu \
  > "$logs/organ_qm9_gpu.log" 2>&1 &
qm9=$!
timeout "$left" "$py" benchmarks/organ_ablation.py --epochs 25 --seeds 1 --jobs 2 \
  --variants default organ-d --mle default --device cuda --out organ_ablation_gpu \
  > "$logs/organ_ablation_gpu.log" 2>&1 &
abl=$!
wait "$abl"
echo "=== organ_ablation_gpu: exit $? at $SECONDS s"
tail -n 12 "$logs/organ_ablation_gpu.log"
wait "$qm9"
echo "=== organ_qm9_gpu: exit $? at $SECONDS s"
grep -E '^\[|^  ' "$logs/organ_qm9_gpu.log" | tail -n 30
tail -n 14 "$logs/organ_qm9_gpu.log"
kill "$packer" 2>/dev/null
pack
ls -l "$out"
