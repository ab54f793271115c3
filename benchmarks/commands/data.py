"""`bench data ...`: turn datasets into stores, and look at stores."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly


@click.group()
def data() -> None:
    """Prepare dataset stores and inspect them."""


@data.group()
def prepare() -> None:
    """Convert a dataset (or render the demo domain) into stores."""


@prepare.command("demo")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory that receives the stores sim/, lab/ and wild/.",
)
@click.option(
    "--n",
    "n_each",
    default=20000,
    show_default=True,
    type=click.IntRange(1),
    help="Images per domain.",
)
@click.option("--n-sim", type=click.IntRange(1), help="Override --n for sim.")
@click.option("--n-lab", type=click.IntRange(1), help="Override --n for lab.")
@click.option("--n-wild", type=click.IntRange(1), help="Override --n for wild.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Re-render even if finished stores exist.")
@fail_cleanly
def prepare_demo_cmd(out: Path, n_each: int, n_sim, n_lab, n_wild, seed: int, force: bool) -> None:
    """Render the demo eye domain: sim (UnityEyes stand-in), lab (UT Multiview stand-in),
    wild (MPIIGaze stand-in). Demo numbers are never MPIIGaze results."""
    from benchmarks.datasets.prepare_demo import prepare_demo

    n = {"sim": n_sim or n_each, "lab": n_lab or n_each, "wild": n_wild or n_each}
    stores = prepare_demo(out, n, seed=seed, force=force)
    for store in stores.values():
        click.echo(f"{store.path}: {len(store):,} images ({store.source})")


@data.command("show")
@click.argument("store_path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG to write (default: STORE/preview.png).",
)
@click.option("--n", "n_samples", default=48, show_default=True, type=click.IntRange(1, 256))
@click.option("--seed", default=0, show_default=True, type=int)
@fail_cleanly
def show_cmd(store_path: Path, out: Path | None, n_samples: int, seed: int) -> None:
    """Write a sample grid (gaze arrows drawn) with label histograms for STORE."""
    from benchmarks.datasets.show import show_store
    from benchmarks.datasets.store import open_store

    store = open_store(store_path)
    written = show_store(store, out or store_path / "preview.png", n_samples=n_samples, seed=seed)
    click.echo(f"wrote {written}")
