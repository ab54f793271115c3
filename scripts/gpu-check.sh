#!/usr/bin/env bash
# GPU check, <= 5 minutes on one H200: the cuda tests, the smoke table on CUDA (+ its regression
# gate), a paper-size refiner pilot (paper networks, batch 512, 100 steps: images/s), the refiner
# settings sweep (issue #23: benchmarks/perf/sweep.py's GPU_SWEEP of SWEEP_SETTINGS, the paper
# networks at batch 512, 80 + 20 + 300 steps each, all settings in parallel; the no-refit label ratio and the
# realism gap closed logged every 100 adversarial steps; each setting's `bench refine summary`
# report, its last sample grid and sweep.jsonl / sweep.md land in $OUT/sweep), the paper pilot
# (`bench pilot --profile paper-gpu`: the chosen settings at batch 512, then the synthetic- and
# refined-data CNNs on the demo's development people; the same report as the CPU pilot's
# results/demo/paper-pilot.md, in $OUT/pilot/pilot.md) and `bench perf` (refiner, estimators,
# budget); every figure goes into one JSON, $OUT/gpu-check.json (OUT defaults to results/perf).
# Exits 2 at once, saying so, when no GPU is visible; 1 when a stage failed (the JSON names it).
# Needs the package with its [test] extra.
# Stage time limits (20 + 60 + 30 + 80 + 80 + 30 s = 300 s, plus start-up) are guesses: no GPU
# run has measured a stage yet. The sweep stops its own stragglers at 70 s, keeping what they
# logged; if it runs short, lower SWEEP_RUN's steps before raising its limit.
#
# For tests (tests/test_gpu_check.py runs it on CPU at toy size, so it cannot rot unseen):
#   GPU_CHECK_DEVICE      the device of every stage [cuda]; "cpu" skips the GPU test
#   GPU_CHECK_STAGES      comma-separated stages to run [all: cuda-tests,smoke,refiner-pilot,
#                         sweep,pilot,perf]
#   GPU_CHECK_SWEEP_ARGS  more arguments for the sweep (e.g. --images 96,64 --set batch_size=8)
#   GPU_CHECK_PILOT_PROFILE  the pilot's profile [paper-gpu]
#   GPU_CHECK_LIMIT_SCALE    multiplies every stage's time limit [1] (a loaded CPU is slow)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg

device="${GPU_CHECK_DEVICE:-cuda}"
stages=",${GPU_CHECK_STAGES:-cuda-tests,smoke,refiner-pilot,sweep,pilot,perf},"
wants() { [[ "$stages" == *",$1,"* ]]; }
limit() { echo $(($1 * ${GPU_CHECK_LIMIT_SCALE:-1})); }
if [[ "$device" == cuda* ]] &&
  ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu-check: no CUDA GPU visible (torch.cuda.is_available() is false); run it on a GPU machine" >&2
  exit 2
fi
out_dir="${OUT:-results/perf}"
mkdir -p "$out_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
stamp() { echo "{\"stage\": \"$1\", \"wall_s\": $((SECONDS - $2)), \"rc\": $3}" >>"$tmp/stages.jsonl"; }
touch "$tmp/stages.jsonl"

if wants cuda-tests; then
  echo "== cuda tests"
  t=$SECONDS
  rc=0
  timeout "$(limit 20)" python -m pytest -q -m cuda tests/test_cuda.py || rc=$?
  stamp cuda-tests "$t" "$rc"
fi

if wants smoke; then
  echo "== smoke table on $device"
  t=$SECONDS
  rc=0
  timeout "$(limit 60)" bench run table1 --profile smoke --rows all --device "$device" --quiet --no-report \
    --work "$tmp/work" --results "$tmp/smoke" || rc=$?
  stamp smoke-cuda "$t" "$rc"
  t=$SECONDS
  rc=0
  bench check --baseline results/baselines/demo-smoke.csv --results "$tmp/smoke" || rc=$?
  stamp smoke-check "$t" "$rc"
fi

if wants refiner-pilot; then
  echo "== refiner pilot: paper networks, batch 512, 100 steps"
  t=$SECONDS
  rc=0
  timeout "$(limit 30)" python -m benchmarks.perf.pilot "$tmp/pilot.json" --device "$device" || rc=$?
  stamp refiner-pilot "$t" "$rc"
fi

if wants sweep; then
  echo "== refiner settings sweep: paper networks, batch 512, ratio + realism every 100 steps"
  t=$SECONDS
  rc=0
  gpu_sweep=$(python -c "from benchmarks.perf.sweep import GPU_SWEEP; print(','.join(GPU_SWEEP))")
  rm -rf "$out_dir/sweep"  # no report of an earlier sweep's settings left beside this one's
  # shellcheck disable=SC2086  # GPU_CHECK_SWEEP_ARGS is a list of arguments
  timeout "$(limit 80)" python -m benchmarks.perf.pilot "$out_dir/sweep" --sweep --device "$device" \
    --deadline-s "$(limit 70)" --only "$gpu_sweep" ${GPU_CHECK_SWEEP_ARGS:-} || rc=$?
  stamp refiner-sweep "$t" "$rc"
fi

if wants pilot; then
  echo "== paper pilot: the chosen settings at batch 512, CNNs on the development people"
  t=$SECONDS
  rc=0
  rm -rf "$out_dir/pilot"
  timeout "$(limit 80)" bench pilot --profile "${GPU_CHECK_PILOT_PROFILE:-paper-gpu}" --device "$device" \
    --quiet --work "$tmp/work" --results "$out_dir/pilot" || rc=$?
  rm -rf "$out_dir/pilot/preds"  # per-image predictions: not a figure
  stamp paper-pilot "$t" "$rc"
fi

if wants perf; then
  echo "== bench perf"
  t=$SECONDS
  rc=0
  timeout "$(limit 30)" bench perf --only refiner,estimators,budget --quick --out "$tmp/perf.json" || rc=$?
  stamp perf "$t" "$rc"
fi

python - "$tmp" "$out_dir/gpu-check.json" "$((SECONDS - started))" "$out_dir" "$device" <<'PY'
import json, sys
from pathlib import Path

from torchkit.device import numerics

tmp, out, total, out_dir = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
sweep, pilot, device = out_dir / "sweep", out_dir / "pilot" / "pilot.md", sys.argv[5]
def load(name):
    p = tmp / name
    return json.loads(p.read_text()) if p.is_file() else None
rows = []
if (tmp / "smoke" / "rows.jsonl").is_file():
    for line in (tmp / "smoke" / "rows.jsonl").read_text().splitlines():
        r = json.loads(line)
        rows.append({k: r[k] for k in ("row_id", "err_mean_deg", "fit_s", "predict_s")})
stages = [json.loads(s) for s in (tmp / "stages.jsonl").read_text().splitlines()]
sweep_rows = None  # one row a setting (benchmarks/perf/sweep.py); reports beside it
if (sweep / "sweep.jsonl").is_file():
    sweep_rows = [json.loads(s) for s in (sweep / "sweep.jsonl").read_text().splitlines()]
# the pilot report's verdict lines ("- labels kept: ...: yes"), its table in pilot/pilot.md
criteria = None
if pilot.is_file():
    criteria = [s[2:] for s in pilot.read_text().splitlines() if s.startswith("- ")]
report = {"numerics": numerics(device), "total_s": total, "stages": stages,
          "smoke_rows": rows, "refiner_pilot": load("pilot.json"), "refiner_sweep": sweep_rows,
          "paper_pilot": {"report": "pilot/pilot.md", "criteria": criteria} if criteria else None,
          "perf": load("perf.json")}
out.write_text(json.dumps(report, indent=1) + "\n")
print(f"gpu-check: wrote {out} ({total} s)")
failed = [s["stage"] for s in stages if s["rc"] != 0]
if failed:
    print(f"gpu-check: FAILED stage(s): {', '.join(failed)}", file=sys.stderr)
    sys.exit(1)
PY
