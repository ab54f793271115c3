"""`bench refine ...`: train a SimGAN refiner on two stores, and refine a store with it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly
from estimators.base import MissingFileError, UserError

_DIR = click.Path(file_okay=False, path_type=Path)


def load_config_file(path: Path) -> dict:
    """Config keys from a .json or .toml file (top level, or under a [refiner] table)."""
    if not path.is_file():
        raise MissingFileError(f"{path}: no such config file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise UserError(f"{path}: not valid {path.suffix.lstrip('.') or 'json'} ({e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a table of config keys")
    return data.get("refiner", data) if set(data) == {"refiner"} else data


def build_config(
    preset: str | None,
    config_file: Path | None,
    overrides: tuple[str, ...],
    run_dir: Path,
    resume: bool,
):
    """Paper defaults <- --preset <- config file <- --set overrides; on --resume with none of
    them, the run's own config.json."""
    from refine.config import PRESETS, RefinerConfig, parse_override

    values: dict = {}
    saved = run_dir / "config.json"
    if resume and saved.is_file() and not (preset or config_file or overrides):
        values = json.loads(saved.read_text())
    if preset is not None:
        values.update(PRESETS[preset])
    if config_file is not None:
        values.update(load_config_file(config_file))
    for text in overrides:
        key, value = parse_override(text)
        values[key] = value
    return RefinerConfig.from_dict(values)


@click.group()
def refine() -> None:
    """Train a SimGAN refiner and refine stores with it."""


@refine.command("train")
@click.option(
    "--synthetic", "synthetic_path", required=True, type=_DIR, help="Labelled synthetic store."
)
@click.option("--real", "real_path", required=True, type=_DIR, help="Real store (labels unused).")
@click.option("--out", "run_dir", required=True, type=_DIR, help="Run directory to create.")
@click.option(
    "--preset",
    type=click.Choice(["smoke", "quick"]),
    help="Light CPU settings: smoke (< 30 s) or quick (3-5 min); default: the paper's.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON or TOML file of RefinerConfig keys.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key (repeatable), e.g. --set steps=2000 --set optimizer=adam.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option(
    "--threads",
    type=click.IntRange(1),
    help="torch threads [default: all cores]; recorded in run.json (it changes float sums).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@fail_cleanly
def train_cmd(
    synthetic_path, real_path, run_dir, preset, config_file, overrides, resume, threads, quiet
) -> None:
    """Train R and D (SimGAN) with checkpoints, sample grids, loss curves and diagnostics."""
    from benchmarks.datasets.store import open_store
    from refine.train import RefinerDiverged, train_refiner
    from torchkit.device import set_threads

    set_threads(threads)
    config = build_config(preset, config_file, overrides, run_dir, resume)
    syn, real = open_store(synthetic_path), open_store(real_path)
    try:
        summary = train_refiner(
            syn.images,
            real.images,
            config,
            run_dir,
            resume=resume,
            progress=not quiet,
            synthetic_gaze_pitchyaw_rad=syn.gaze_pitchyaw_rad,
            synthetic_head_pitchyaw_rad=syn.head_pitchyaw_rad,
        )
    except RefinerDiverged as e:
        raise click.ClickException(str(e)) from None
    diag = json.loads(Path(summary["diagnostics"]).read_text())
    click.echo(
        f"{run_dir}: {summary['steps']} steps in {summary['wall_s']:.0f} s; realism (classifier "
        f"acc, lower is better) real vs synthetic {diag['realism_acc_real_vs_synthetic']:.3f}, "
        f"real vs refined {diag['realism_acc_real_vs_refined']:.3f}; "
        f"|R(x) - x| {diag['mean_abs_diff_grey']:.1f} grey levels"
    )


@refine.command("apply")
@click.option("--run", "run_dir", required=True, type=_DIR, help="A finished refiner run.")
@click.option("--input", "input_path", required=True, type=_DIR, help="Store to refine.")
@click.option("--out", "out_path", required=True, type=_DIR, help="Refined store to write.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@fail_cleanly
def apply_cmd(run_dir, input_path, out_path, batch_size, device, quiet) -> None:
    """Refine every image of --input into --out (labels copied; resumable after a kill)."""
    from benchmarks.pipeline.refine_store import refine_store

    store = refine_store(
        run_dir, input_path, out_path, batch_size=batch_size, device=device, progress=not quiet
    )
    click.echo(f"{store.path}: {len(store):,} images ({store.source})")


@refine.command("summary")
@click.option("--run", "run_dir", required=True, type=_DIR, help="A finished refiner run.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Markdown file to write [default: print].",
)
@click.option("--command", "command", help="The command that made the run (quoted in the report).")
@fail_cleanly
def summary_cmd(run_dir, out_path, command) -> None:
    """A finished run's short report: settings, loss trajectory, realism gap, label survival."""
    from benchmarks.reporting.refiner_run import refiner_run_markdown, write_refiner_run_report

    if out_path is None:
        click.echo(refiner_run_markdown(run_dir, command))
        return
    click.echo(f"wrote {write_refiner_run_report(run_dir, out_path, command)}")
