"""Write the three demo-domain stores (sim / lab / wild) to a directory."""

from __future__ import annotations

from pathlib import Path

from benchmarks.datasets.demo import BLOCK, iter_domain
from benchmarks.datasets.demo_looks import DOMAINS, LOOKS
from benchmarks.datasets.store import Store, reuse_store
from benchmarks.datasets.writer import StoreWriter
from estimators.base import UserError
from torchkit.progress import progress_bar

DEMO_ROLES = {
    "sim": "UnityEyes stand-in (labelled synthetic)",
    "lab": "UT Multiview stand-in (labelled lab camera)",
    "wild": "MPIIGaze stand-in (test domain; unlabeled real set for the refiner)",
}


def prepare_demo_domain(
    out: Path, domain: str, n: int, seed: int, force: bool = False, progress: bool = True
) -> Store:
    """Render ``n`` images of ``domain`` into the store ``out`` (resumes a killed run; a finished
    store with the same n and seed is reused as is, one made otherwise needs ``force``)."""
    options = {
        "domain": domain,
        "n": n,
        "seed": seed,
        "role": DEMO_ROLES[domain],
        "n_subjects": LOOKS[domain].n_subjects,
    }
    if (done := reuse_store(out, options, force)) is not None:
        return done
    source = f"demo:{domain}"
    with StoreWriter(
        out,
        n,
        source=source,
        key=f"seed={seed}",
        options=options,
        extra={"demo": True},
        overwrite=force,
    ) as w:
        bar = progress_bar(
            total=n,
            initial=w.n_done,
            desc=f"render {domain}",
            unit="img",
            enabled=progress,
            leave=False,
        )
        # Commits happen at block boundaries, so n_done is a whole number of blocks (or n).
        first = w.n_done // BLOCK
        start = first * BLOCK
        for block in iter_domain(domain, n, seed, first_block=first):
            k = len(block["images"])
            w.write(start, **block)
            w.commit(start + k)
            bar.update(k)
            start += k
        bar.close()
        return w.finalize()


def prepare_demo(
    out_dir: str | Path,
    n: dict[str, int],
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Store]:
    """Write ``out_dir/<domain>`` for each domain in ``n`` (domain -> image count)."""
    out_dir = Path(out_dir)
    unknown = sorted(set(n) - set(DOMAINS))
    if unknown:
        raise UserError(
            f"unknown demo domain(s) {', '.join(unknown)}; choose from {', '.join(DOMAINS)}"
        )
    return {d: prepare_demo_domain(out_dir / d, d, n[d], seed, force, progress) for d in n}


__all__ = ["BLOCK", "DEMO_ROLES", "prepare_demo", "prepare_demo_domain"]
