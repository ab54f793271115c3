#!/usr/bin/env bash
# GPU check, <= 5 minutes on one H200: the cuda tests, the smoke table on CUDA (+ its regression
# gate), a paper-size refiner pilot (paper networks, batch 512, 100 steps), the refiner settings
# sweep (issue #23: benchmarks/perf/sweep.py's SWEEP_SETTINGS, the paper networks at batch 512,
# 80 + 20 + 300 steps each, all settings in parallel; the no-refit label ratio and the realism gap
# closed logged every 100 adversarial steps; each setting's `bench refine summary` report, its
# last sample grid and sweep.jsonl / sweep.md land in $OUT/sweep, else results/perf/sweep) and
# `bench perf` (refiner, estimators, budget); every figure goes into one JSON, $OUT/gpu-check.json
# when OUT is set, else results/perf/gpu-check.json. Exits 2 at once, saying so, when no GPU is
# visible; 1 when a stage failed (the JSON names it). Needs the package with its [test] extra.
# Stage time limits (30 + 90 + 30 + 110 + 30 s = 290 s, plus start-up) keep the whole run under
# 5 minutes. They were 60 + 120 + 60 + 45 before the sweep and are guesses either way: no GPU
# run has measured a stage yet. The sweep stops its own stragglers at 100 s, keeping what they
# logged; if it runs short, lower SWEEP_RUN's steps before raising its limit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg

if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu-check: no CUDA GPU visible (torch.cuda.is_available() is false); run it on a GPU machine" >&2
  exit 2
fi
out_dir="${OUT:-results/perf}"
mkdir -p "$out_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS
stamp() { echo "{\"stage\": \"$1\", \"wall_s\": $((SECONDS - $2)), \"rc\": $3}" >>"$tmp/stages.jsonl"; }

echo "== cuda tests"
t=$SECONDS
rc=0
timeout 30 python -m pytest -q -m cuda tests/test_cuda.py || rc=$?
stamp cuda-tests "$t" "$rc"

echo "== smoke table on CUDA"
t=$SECONDS
rc=0
timeout 90 bench run table1 --profile smoke --rows all --device cuda --quiet --no-report \
  --work "$tmp/work" --results "$tmp/smoke" || rc=$?
stamp smoke-cuda "$t" "$rc"
t=$SECONDS
rc=0
bench check --baseline results/baselines/demo-smoke.csv --results "$tmp/smoke" || rc=$?
stamp smoke-check "$t" "$rc"

echo "== refiner pilot: paper networks, batch 512, 100 steps"
t=$SECONDS
rc=0
timeout 30 python -m benchmarks.perf.pilot "$tmp/pilot.json" --device cuda || rc=$?
stamp refiner-pilot "$t" "$rc"

echo "== refiner settings sweep: paper networks, batch 512, ratio + realism every 100 steps"
t=$SECONDS
rc=0
rm -rf "$out_dir/sweep"  # no report of an earlier sweep's settings left beside this one's
timeout 110 python -m benchmarks.perf.pilot "$out_dir/sweep" --sweep --device cuda \
  --deadline-s 100 || rc=$?
stamp refiner-sweep "$t" "$rc"

echo "== bench perf"
t=$SECONDS
rc=0
timeout 30 bench perf --only refiner,estimators,budget --quick --out "$tmp/perf.json" || rc=$?
stamp perf "$t" "$rc"

python - "$tmp" "$out_dir/gpu-check.json" "$((SECONDS - started))" "$out_dir/sweep" <<'PY'
import json, sys
from pathlib import Path

from torchkit.device import numerics

tmp, out, total, sweep = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
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
report = {"numerics": numerics("cuda"), "total_s": total, "stages": stages,
          "smoke_rows": rows, "refiner_pilot": load("pilot.json"), "refiner_sweep": sweep_rows,
          "perf": load("perf.json")}
out.write_text(json.dumps(report, indent=1) + "\n")
print(f"gpu-check: wrote {out} ({total} s)")
failed = [s["stage"] for s in stages if s["rc"] != 0]
if failed:
    print(f"gpu-check: FAILED stage(s): {', '.join(failed)}", file=sys.stderr)
    sys.exit(1)
PY
