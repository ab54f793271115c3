"""Plug-ins by entry point: the worked example runs through `bench run`, and a broken plug-in
stops only the run that uses it, with one line naming it.

Nothing is pip-installed: each test writes a ``*.dist-info`` (METADATA + entry_points.txt) into
tmp_path and puts it (and the plug-in's source) on sys.path, where importlib.metadata finds it
exactly as it finds an installed package."""

import sys
from pathlib import Path

import pytest

from benchmarks.records.rows import read_rows
from estimators import list_estimators
from refine.registry import list_refiners

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

EXAMPLE = Path(__file__).parents[1] / "examples" / "gazebench-plugin-example"

# conftest's profile_toml keywords
PROFILE = dict(demo=(200, 100, 200, 100), n_train=150, refiner={"kind": "identity", "diag_n": 100})


def install(tmp_path, monkeypatch, dist: str, entry_points: str, source: Path | None = None):
    """Make ``dist`` look installed: a dist-info on sys.path, the source importable."""
    site = tmp_path / f"site-{dist}"
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(site))
    if source is not None:
        monkeypatch.syspath_prepend(str(source))


def run(tiny_bench, tmp_path, *rows: tuple[str, str, str]):
    """`bench run` of rows (id, method, train) on PROFILE."""
    return tiny_bench(tmp_path, rows, PROFILE, name="plug", title="plug-ins").run()


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_the_example_plugin_runs_a_suite_by_entry_point(tmp_path, monkeypatch, tiny_bench):
    eps = (EXAMPLE / "pyproject.toml").read_text()
    assert 'example-contrast = "gazebench_plugin_example.refiner:ContrastRefiner"' in eps
    install(tmp_path, monkeypatch, "gazebench-plugin-example", (
        "[gazebench.refiners]\nexample-contrast = gazebench_plugin_example.refiner:ContrastRefiner\n"
        "[gazebench.estimators]\nexample-ridge = gazebench_plugin_example.estimator:PooledRidgeGaze\n"
    ), EXAMPLE)  # fmt: skip
    assert "example-contrast" in list_refiners() and "simgan" in list_refiners()
    assert "example-ridge" in list_estimators() and "knn" in list_estimators()
    r = run(tiny_bench, tmp_path,
        ("ridge-contrast", "example-ridge", "refined:example-contrast"),
        ("mean-contrast", "mean", "refined:example-contrast"),
        ("ridge-synthetic", "example-ridge", "synthetic"),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = {x["row_id"]: x for x in read_rows(tmp_path / "res")}
    assert set(rows) == {"ridge-contrast", "mean-contrast", "ridge-synthetic"}
    assert "refiner example-contrast" in rows["ridge-contrast"]["train_dataset"]
    assert rows["ridge-contrast"]["refiner"] == "example-contrast"
    assert 0 < rows["ridge-contrast"]["err_mean_deg"] < 90
    # fitted once for the seed and shared by both rows, its diagnostics kept for the report
    assert r.output.count("refiner example-contrast: fitting") == 1
    assert (
        tmp_path / "res" / "refiners" / "example-contrast" / "seed0" / "diagnostics.json"
    ).is_file()


def test_a_plugin_that_fails_to_import_stops_only_the_run_using_it(
    tmp_path, monkeypatch, tiny_bench
):
    install(tmp_path, monkeypatch, "broken-plugin",
            "[gazebench.refiners]\nbroken = no_such_module_for_gazebench:Refiner\n")  # fmt: skip
    assert {"broken", "identity", "simgan"} <= set(list_refiners())  # listing imports nothing
    line = one_line_error(run(tiny_bench, tmp_path, ("mean-broken", "mean", "refined:broken")))
    assert "plug-in refiner 'broken' (no_such_module_for_gazebench:Refiner)" in line
    assert "import failed: ModuleNotFoundError" in line
    ok = run(tiny_bench, tmp_path, ("mean-synthetic", "mean", "synthetic"))  # a run without it
    assert ok.exit_code == 0, ok.output


BAD = """
import numpy as np

class FloatRefiner:  # returns float pixels: the commonest mistake
    def get_params(self, deep=True): return {}
    def fit(self, synthetic, real, **info): return self
    def transform(self, images): return images.astype(np.float32) / 255.0

class NanRefiner(FloatRefiner):
    def transform(self, images): return np.full(images.shape, np.nan)

class NoTransform:
    def get_params(self, deep=True): return {}
    def fit(self, synthetic, real, **info): return self

class WrongShapeGaze:
    def __init__(self): pass
    def get_params(self, deep=True): return {}
    def set_params(self, **p): return self
    def fit(self, X, y): return self
    def predict(self, X): return np.zeros((len(X), 3))
"""


@pytest.mark.parametrize(
    "name, target, row, expect",
    [
        ("floaty", "FloatRefiner", ("mean", "refined:floaty"), "transform() returned dtype float32"),
        ("nanny", "NanRefiner", ("mean", "refined:nanny"), "NaN"),
        ("halfway", "NoTransform", ("mean", "refined:halfway"), "has no transform() method"),
        ("wide", "WrongShapeGaze", ("wide", "synthetic"), "returned shape (100, 3), expected (100, 2)"),
    ],
)  # fmt: skip
def test_a_plugin_with_wrong_behaviour_gives_one_line(
    tmp_path, monkeypatch, tiny_bench, name, target, row, expect
):
    module = f"bad_plugin_{name}"
    (tmp_path / f"{module}.py").write_text(BAD)
    group = "gazebench.estimators" if "Gaze" in target else "gazebench.refiners"
    install(
        tmp_path, monkeypatch, f"bad-{name}", f"[{group}]\n{name} = {module}:{target}\n", tmp_path
    )
    line = one_line_error(run(tiny_bench, tmp_path, (f"row-{name}", *row)))
    assert f"plug-in {'estimator' if 'Gaze' in target else 'refiner'} '{name}'" in line
    assert expect in line
    sys.modules.pop(module, None)
