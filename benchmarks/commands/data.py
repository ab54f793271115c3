"""`bench data ...`: turn datasets into stores, and look at stores."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly, out_dir_option


@click.group()
def data() -> None:
    """Prepare dataset stores and inspect them."""


@data.group()
def prepare() -> None:
    """Convert a dataset (or render the demo domain) into stores."""


@prepare.command("demo")
@out_dir_option("Directory that receives the stores sim/, lab/ and wild/.")
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
@click.option(
    "--force", is_flag=True, help="Re-render, replacing finished stores (made with any options)."
)
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


def _report_skips(stores) -> None:
    """One line per store: where it is, how big, and how many inputs were skipped (and where)."""
    from benchmarks.datasets.faults import report_path

    for store in stores:
        line = f"{store.path}: {len(store):,} images ({store.source})"
        skipped = store.manifest.get("skipped", 0)
        if skipped:
            line += f"; {skipped:,} skipped, listed in {report_path(store.path)}"
        click.echo(line)


_ROOT = click.option(
    "--root",
    required=True,
    type=click.Path(path_type=Path),
    help="The dataset folder as downloaded / rendered.",
)
_STORE_OUT = out_dir_option("The store directory to write (its skip report goes next to it).")
_FORCE = click.option("--force", is_flag=True, help="Replace a finished store made differently.")


@prepare.command("mpiigaze")
@_ROOT
@out_dir_option("Directory that receives the stores all/ and eval/.")
@click.option(
    "--exclude-people",
    default="",
    help="Comma-separated people (e.g. p00,p01) left out of all/ (the refiner's real set).",
)
@_FORCE
@fail_cleanly
def prepare_mpiigaze_cmd(root: Path, out: Path, exclude_people: str, force: bool) -> None:
    """MPIIGaze: all/ (both eyes of every image, unlabeled real set) and eval/ (the 45,000-image
    Evaluation Subset test set). Right eyes mirrored, yaws negated."""
    from benchmarks.datasets.mpiigaze import prepare_mpiigaze

    people = [p.strip() for p in exclude_people.split(",") if p.strip()]
    stores = prepare_mpiigaze(root, out, exclude_people=people, force=force)
    _report_skips(stores.values())


@prepare.command("unityeyes")
@_ROOT
@_STORE_OUT
@click.option(
    "--near-frontal", is_flag=True, help="Keep only |head pitch|, |head yaw| <= 20 deg (GazeML)."
)
@click.option("--jobs", type=click.IntRange(1), help="Worker processes (default: all cores).")
@_FORCE
@fail_cleanly
def prepare_unityeyes_cmd(
    root: Path, out: Path, near_frontal: bool, jobs: int | None, force: bool
) -> None:
    """UnityEyes jpg+json renders -> 36x60 grayscale crops (GazeML recipe). Resumable."""
    from benchmarks.datasets.unityeyes import prepare_unityeyes

    store = prepare_unityeyes(root, out, near_frontal=near_frontal, jobs=jobs, force=force)
    _report_skips([store])


@prepare.command("utmultiview")
@_ROOT
@_STORE_OUT
@click.option("--parts", default="synth,test", show_default=True, help="synth, test or both.")
@click.option(
    "--no-mirror-right",
    "mirror_right",
    flag_value=False,
    default=True,
    help="The distributed right-eye files are already mirrored: store them as read.",
)
@_FORCE
@fail_cleanly
def prepare_utmultiview_cmd(
    root: Path, out: Path, parts: str, mirror_right: bool, force: bool
) -> None:
    """UT Multiview synth/ and test/ parts, both eyes (right eyes mirrored unless told not to)."""
    from benchmarks.datasets.utmultiview import prepare_utmultiview

    selected = tuple(p.strip() for p in parts.split(",") if p.strip())
    store = prepare_utmultiview(root, out, parts=selected, mirror_right=mirror_right, force=force)
    _report_skips([store])


@data.command("audit")
@click.argument("train_store", type=click.Path(file_okay=False, path_type=Path))
@click.argument(
    "test_stores", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@fail_cleanly
def audit_cmd(train_store: Path, test_stores: tuple[Path, ...]) -> None:
    """Check label conventions: units, ranges, and a sign/swap cross-check of TEST_STORES
    against a ridge fitted on TRAIN_STORE (exit 2 naming the likely mistake)."""
    from benchmarks.datasets.audit import audit_or_stop
    from benchmarks.datasets.store import open_store

    train = open_store(train_store)
    pairs = [(str(train_store), train, str(t), open_store(t)) for t in test_stores]
    audit_or_stop(pairs, log=click.echo)
