"""Data modes: where each role's store comes from.

Roles: ``synthetic`` (UnityEyes / demo sim), ``real-lab`` (UT Multiview / demo lab),
``real-unlabeled`` (all MPIIGaze images, the refiner's real set / demo wild), ``test`` (MPIIGaze
Evaluation Subset / demo wild, other people). ``--data demo`` renders them; ``--data real``
prepares them from dataset roots given by option or environment variable. Stores are cached
under the work directory keyed (keys.stage_key) by what made them, so a re-run reuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.datasets.store import Store, open_store
from benchmarks.pipeline.keys import stage_key
from benchmarks.pipeline.suite import data_seed, demo_sizes
from estimators.base import UserError

ROLES = ("synthetic", "real-lab", "real-unlabeled", "test")
# role -> (dataset name, root option / env var)
REAL_ROOTS = {
    "synthetic": ("UnityEyes", "GAZEBENCH_UNITYEYES", "--unityeyes"),
    "real-lab": ("UT Multiview", "GAZEBENCH_UTMULTIVIEW", "--utmultiview"),
    "real-unlabeled": ("MPIIGaze", "GAZEBENCH_MPIIGAZE", "--mpiigaze"),
    "test": ("MPIIGaze", "GAZEBENCH_MPIIGAZE", "--mpiigaze"),
}
DEMO_TEST_SEED_OFFSET = 1000  # a different seed renders different people: subject-independent
# the labelled development set: yet other people, for developing recipes without the test people
DEMO_DEV_SEED_OFFSET = 2000


@dataclass
class Sources:
    mode: str
    stores: dict[str, Store]

    def describe(self, role: str) -> str:
        store = self.stores[role]
        return f"{store.source} ({len(store):,} images, {store.checksum[7:19]})"


def roles_for(train_sources: set[str]) -> set[str]:
    """Which roles a set of row training sources needs (the test set always)."""
    need = {"test"}
    if "real-lab" in train_sources:
        need.add("real-lab")
    refined = any(t == "refined" or t.startswith("refined:") for t in train_sources)
    if "synthetic" in train_sources or refined:
        need.add("synthetic")
    if refined:  # every refiner fits on the synthetic and the unlabelled real images
        need.add("real-unlabeled")
    return need


def _demo_sources(
    profile: dict[str, Any], work_dir: Path, roles: set[str], progress: bool
) -> dict[str, Store]:
    from benchmarks.datasets.prepare_demo import prepare_demo_domain

    n, seed = demo_sizes(profile), data_seed(profile)
    plan = {  # role -> (domain, n, seed)
        "synthetic": ("sim", n["n_sim"], seed),
        "real-lab": ("lab", n["n_lab"], seed),
        "real-unlabeled": ("wild", n["n_wild"], seed),
        "test": ("wild", n["n_test"], seed + DEMO_TEST_SEED_OFFSET),
    }
    if profile["demo"].get("eval_split", "test") == "dev":  # development people, not test people
        plan["test"] = ("wild", n["n_test"], seed + DEMO_DEV_SEED_OFFSET)
    out = {}
    for role in ROLES:
        if role in roles:
            domain, k, s = plan[role]
            key = stage_key("demo-store", {"domain": domain, "n": k, "seed": s}, {}, None)
            path = work_dir / "stores" / "demo" / f"{role}-{domain}-n{k}-s{s}-{key}"
            out[role] = prepare_demo_domain(path, domain, k, s, progress=progress)
    return out


def missing_roots_message(
    roles: set[str], roots: dict[str, str | None], needed_by: dict[str, list[str]]
) -> str | None:
    """One message naming every dataset root that rows need but nobody set."""
    missing = []
    for role in ROLES:
        if role in roles:
            name, env, opt = REAL_ROOTS[role]
            if not roots.get(name):
                rows = ", ".join(needed_by.get(role, [])) or "the test set"
                missing.append(f"{name} (set {opt} PATH or {env}; needed by {rows})")
    if not missing:
        return None
    seen = list(dict.fromkeys(missing))
    return "--data real needs dataset roots: " + "; ".join(seen)


def resolve_roots(options: dict[str, str | None]) -> dict[str, str | None]:
    """Dataset name -> root from the CLI options (click reads the environment variables named
    in REAL_ROOTS through ``envvar=``; nothing here reads the environment by hand)."""
    return {name: options.get(name) or None for name, _env, _opt in REAL_ROOTS.values()}


def _real_sources(
    profile: dict[str, Any],
    work_dir: Path,
    roles: set[str],
    roots: dict[str, str | None],
    progress: bool,
) -> dict[str, Store]:
    real = profile.get("real", {})
    out: dict[str, Store] = {}

    def cached(name: str, opts: dict[str, Any], make: Callable[[Path], Any]) -> Path:
        # Keyed by what makes it, so the prepare_* reuse rule (store.reuse_store) finds a
        # finished store with the same options and returns it without reading the dataset.
        key = stage_key("real-store", {"dataset": name, **opts}, {}, None)
        path = work_dir / "stores" / "real" / f"{name}-{key}"
        make(path)
        return path

    if roles & {"real-unlabeled", "test"}:
        from benchmarks.datasets.mpiigaze import prepare_mpiigaze

        exclude = list(real.get("exclude_people", []))
        opts = {"root": str(Path(roots["MPIIGaze"]).resolve()), "exclude_people": exclude}
        base = cached(
            "mpiigaze",
            opts,
            lambda p: prepare_mpiigaze(
                Path(roots["MPIIGaze"]), p, exclude_people=exclude or None, progress=progress
            ),
        )
        out["real-unlabeled"] = open_store(base / "all")
        out["test"] = open_store(base / "eval")
    if "synthetic" in roles:
        from benchmarks.datasets.unityeyes import prepare_unityeyes

        near = bool(real.get("unityeyes_near_frontal", False))
        opts = {"root": str(Path(roots["UnityEyes"]).resolve()), "near_frontal": near}
        base = cached(
            "unityeyes",
            opts,
            lambda p: prepare_unityeyes(
                Path(roots["UnityEyes"]), p / "store", near_frontal=near, progress=progress
            ),
        )
        out["synthetic"] = open_store(base / "store")
    if "real-lab" in roles:
        from benchmarks.datasets.utmultiview import prepare_utmultiview

        parts = tuple(real.get("utmultiview_parts", ["synth", "test"]))
        opts = {"root": str(Path(roots["UT Multiview"]).resolve()), "parts": parts}
        base = cached(
            "utmultiview",
            opts,
            lambda p: prepare_utmultiview(
                Path(roots["UT Multiview"]), p / "store", parts=parts, progress=progress
            ),
        )
        out["real-lab"] = open_store(base / "store")
    return {role: out[role] for role in ROLES if role in roles}


def prepare_sources(
    mode: str,
    profile: dict[str, Any],
    work_dir: Path,
    roles: set[str],
    roots: dict[str, str | None] | None = None,
    needed_by: dict[str, list[str]] | None = None,
    progress: bool = True,
) -> Sources:
    """Make (or reuse) the store for every role in ``roles``."""
    if mode == "demo":
        return Sources(mode, _demo_sources(profile, work_dir, roles, progress))
    if mode == "real":
        roots = roots or {}
        msg = missing_roots_message(roles, roots, needed_by or {})
        if msg:
            raise UserError(msg)
        return Sources(mode, _real_sources(profile, work_dir, roles, roots, progress))
    raise UserError(f"--data must be demo or real, got {mode!r}")
