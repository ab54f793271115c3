"""`bench report` on fixed result rows and predictions written here, compared with a committed
golden file, character for character: the table, the CI, the paired test, the within-7° table and
the provenance. Nothing in the compared text depends on the date, the checkout or the machine
(rows carry a fixed sha and device; the results path is replaced by RESULTS).

After an intended change of the report, regenerate the golden file with
``GAZEBENCH_UPDATE_GOLDEN=1 python -m pytest tests/test_report_golden.py`` and review its diff."""

import os
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.records.rows import SCHEMA, append_row, error_summary, save_predictions

GOLDEN = Path(__file__).parent / "golden" / "table1.md"

# (row_id, label, train_source, rs, paper_err_deg, paper_within7_pct, extra, typical error)
ROWS = [
    ("knn-lab", "kNN with UT Multiview", "real-lab", "R", 16.2, None, False, 9.0),
    ("cnn-synthetic", "CNN with UnityEyes synthetic images", "synthetic", "S", 11.2, 62.3, False, 8.0),
    ("cnn-refined", "CNN with UnityEyes refined images", "refined", "S", 7.8, 69.4, False, 6.0),
    ("knn-refined", "kNN with UnityEyes refined images", "refined", "S", None, None, True, 7.0),
]  # fmt: skip
N_PEOPLE, PER_PERSON = 5, 12


def write_results(res: Path) -> None:
    subject = np.repeat(np.arange(N_PEOPLE), PER_PERSON).astype(np.int32)
    n = len(subject)
    true = np.zeros((n, 2), np.float32)
    for i, (row_id, label, train, rs, paper, paper7, extra, typical) in enumerate(ROWS):
        for seed in (0, 1):
            rng = np.random.default_rng([i, seed])
            person = rng.normal(0, 1.5, N_PEOPLE)[subject]  # people differ
            err = np.abs(typical + person + rng.normal(0, 2.0, n)).astype(np.float32)
            preds_file = f"preds/{row_id}-seed{seed}.npz"
            refined = train == "refined"
            save_predictions(res / preds_file, np.zeros((n, 2), np.float32), true, err, subject)
            row = {
                "schema": SCHEMA,
                "suite": "table1",
                "row_id": row_id,
                "label": label,
                "method": row_id.split("-")[0],
                "params": {},
                "train_source": train,
                "train_scale": 1,
                "train_dataset": f"demo {train} (1,000 pool, 0123456789ab)",
                "test_source": "demo wild, held-out people (60 images)",
                "rs": rs,
                "extra": extra,
                "paper_err_deg": paper,
                "paper_within7_pct": paper7,
                "seed": seed,
                "data_mode": "demo",
                "eval_split": "test",
                "profile": "golden",
                "stage_key": f"{i}{seed}" * 6,
                "preds_file": preds_file,
                "n_train": 500,
                "n_test": n,
                "fit_s": 1.25 * (i + 1) + seed,
                "predict_s": 0.1,
                # as fit_row writes them: classic rows carry no precision
                "numerics": {"torch_threads": 2}
                | ({"precision": "fp32"} if "cnn" in row_id else {}),
                "provenance": {
                    "git_sha": "0123456789abcdef0123456789abcdef01234567",
                    # one seed of one row from an edited checkout: the report says so
                    "git_dirty": row_id == "knn-refined" and seed == 1,
                    "config_hash": f"{i}{seed}" * 6,
                    "command": "bench run table1 --profile golden" + (" --seeds 2" if seed else ""),
                    "device": "cpu",
                    "recorded_at": "2026-01-01T00:00:00+0000",
                },
                "finished_at": "2026-01-01T00:00:00+0000",
                # what the refiner saw and the row's target budget, as cells.py writes them
                "protocol": "transductive",
                "folds": None,
                "test_people": [f"wild-s1000-p{p:02d}" for p in range(N_PEOPLE)],
                "target_labelled_n": 0,
                "refiner_people": [f"wild-s0-p{p:02d}" for p in range(15)] if refined else [],
                "refiner_sees_test_people": False if refined else None,
                "target_unlabelled_n": 2000 if refined else 0,
                **error_summary(err),
            }
            append_row(res, row)


def test_the_report_matches_the_golden_file(tmp_path):
    res = tmp_path / "res"
    write_results(res)
    r = CliRunner().invoke(main, ["report", "--results", str(res)])
    assert r.exit_code == 0, r.output
    text = (res / "table1.md").read_text().replace(str(res), "RESULTS")
    if os.environ.get("GAZEBENCH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
