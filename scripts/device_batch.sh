#!/usr/bin/env bash
# One GPU-machine session (16 cores + 1 GPU): the cause experiments of the refined-vs-synthetic
# headline, every variant x 2 refiner seeds in parallel, beside a paper-scale refiner sweep
# (paper networks, batch 512). Everything stops by DEADLINE_S; results are gathered into $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" MPLBACKEND=Agg PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
DEADLINE_S=${DEADLINE_S:-480}
w=/tmp/gb; mkdir -p $w/res $w/logs
t0=$SECONDS
python3 - <<'PY'
from pathlib import Path
from benchmarks.datasets.prepare_demo import prepare_demo_domain
d = Path("/tmp/gb/work/stores/demo")
for role, dom, n, s in [("synthetic","sim",16000,0),("real-unlabeled","wild",8000,0),("test","wild",3000,2000)]:
    prepare_demo_domain(d / f"{role}-{dom}-n{n}-s{s}", dom, n, s, progress=False)
print("stores ready")
PY
echo "stores: $((SECONDS-t0)) s"
B="--set ema_decay=0 --set select_every=0 --set holdout_real_fraction=0"
run() { # name seed args...
  local name=$1 seed=$2; shift 2
  timeout $((DEADLINE_S - (SECONDS - t0) - 20)) python3 scripts/cause_experiments.py --work $w/work \
    --out $w/res/$name-s$seed.jsonl --name $name --seed $seed --device cuda --threads 1 \
    --cnn-samples 28800 "$@" >$w/logs/$name-s$seed.log 2>&1 &
}
for seed in 0 1; do
  run base $seed $B --refine-at residual,native
  run hw36 $seed $B --set input_hw=[36,60]
  run match $seed $B --set match_real_gaze=true
  run resid $seed $B --set refiner_residual=true
  run lam2 $seed $B --set lambda_reg=2.0
  run quickema $seed
  run combo $seed $B --set input_hw=[36,60] --set match_real_gaze=true --set refiner_residual=true
done
# paper-scale sweep: paper networks, SGD 0.001, summed losses, batch 512; label ratio and
# realism logged every 100 adversarial steps by the snapshot scorer (selection.json)
S=$w/work/stores/demo
pilot() { # name args...
  local name=$1; shift
  (timeout $((DEADLINE_S - (SECONDS - t0) - 30)) python3 -m benchmarks.cli refine train \
     --synthetic $S/synthetic-sim-n16000-s0 --real $S/real-unlabeled-wild-n8000-s0 \
     --out $w/pilot/$name --quiet --set batch_size=512 --set pretrain_r_steps=200 \
     --set pretrain_d_steps=50 --set steps=500 --set buffer_size=25600 --set select_every=100 \
     --set holdout_real_fraction=0.1 --set checkpoint_every=250 --set sample_every=250 \
     --set log_every=25 --set device=cuda "$@" \
   && python3 -m benchmarks.cli refine summary --run $w/pilot/$name --out $w/pilot/$name.md \
     --command "bench refine train ... --set batch_size=512 $*") >$w/logs/pilot-$name.log 2>&1 &
}
mkdir -p $w/pilot
pilot lam0.0327 --set lambda_reg=0.0327
pilot lam0.25 --set lambda_reg=0.25
pilot lam1 --set lambda_reg=1.0
pilot lam0.25-resid --set lambda_reg=0.25 --set refiner_residual=true
while [ -n "$(jobs -rp)" ] && [ $((SECONDS - t0)) -lt "$DEADLINE_S" ]; do sleep 5; done
echo "wall: $((SECONDS-t0)) s; still running: $(jobs -rp | wc -l)"
kill $(jobs -rp) 2>/dev/null
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
cat $w/res/*.jsonl >"$OUT/cause.jsonl" 2>/dev/null
tar czf "$OUT/runs.tgz" -C $w logs pilot res --exclude='*.pt' 2>/dev/null
tail -n 3 $w/logs/*.log
ls -la "$OUT"
