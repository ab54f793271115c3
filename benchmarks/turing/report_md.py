"""turing.md, turing.csv and turing_per_participant.csv from a computed StudyReport."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.turing.page import display_note
from benchmarks.turing.report import ArmReport, StudyReport, build_report
from benchmarks.turing.stats import Binomial
from torchkit.files import write_text_atomic


def _f(x: float, fmt: str = ".3f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _ci(b: Binomial) -> str:
    return "–" if math.isnan(b.ci95_lo) else f"{b.ci95_lo:.3f}–{b.ci95_hi:.3f}"


def _range(lo: float, hi: float) -> str:
    return "–" if math.isnan(lo) else f"{lo:.3f}–{hi:.3f}"


def _p(p: float) -> str:
    return "–" if math.isnan(p) else f"{p:.2g}"


def _sha(git: dict[str, Any]) -> str:
    sha = str(git.get("git_sha", "unknown"))[:10]
    return sha + (" (dirty)" if git.get("git_dirty") else "")


def _people_verdict(b: Binomial) -> str:
    if math.isnan(b.p_hat):
        return "no answers"
    if b.ci95_lo > 0.5:
        return "tell apart"
    return "fooled (below chance)" if b.ci95_hi < 0.5 else "at chance"


def _reading(arm: ArmReport) -> str:
    """Where people and the classifiers agree or not, in words."""
    if arm.machine is None:
        return "–"
    people = _people_verdict(arm.counts.accuracy)
    machine = "tell apart" if arm.machine.tells_apart() else "at chance"
    if people == machine or (people.startswith("fooled") and machine == "at chance"):
        return f"agree: both {machine}"
    return f"**disagree**: people {people}, machines {machine}"


def render_markdown(report: StudyReport) -> str:
    study, design = report.study, report.study.design
    real = study.record.real
    demo = real.description.startswith("demo:")
    lines = [f"# Visual Turing test: {', '.join(design.sources)} vs real eye images", ""]
    if demo:
        lines += [
            "> Demo domain: procedural eyes (`wild` stands in for MPIIGaze). These numbers show",
            "> the study and its report; they are not a study of MPIIGaze images.",
            "",
        ]
    people = len({p for p, _, _ in report.per_participant})
    lines += [
        f"{people} participant(s), {report.n_answers} answers; {design.trials_per_person} trials "
        f"per person (per source: half real, half fake; shuffled), seed {design.seed}. "
        f"Real images: {real.description}. {display_note(design.upscale, design.interpolation)}",
        "",
        "## Can people tell real from fake?",
        "",
        "Accuracy: the fraction of answers that were right (0.5 = chance). 95% CI: Wilson; "
        "p: exact binomial, two-sided, against 0.5. The paper's rows are computed the same way "
        "from its counts.",
        "",
        "| source | trials | right | accuracy | 95% CI | p vs chance | people |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in report.arms:
        b = arm.counts.accuracy
        lines.append(
            f"| {arm.arm} | {b.n} | {b.k} | {_f(b.p_hat)} | {_ci(b)} | {_p(b.p_value)} "
            f"| {arm.n_participants} |"
        )
    for paper in {a.paper.arm: a.paper for a in report.arms if a.paper}.values():
        b = paper.accuracy
        lines.append(
            f"| *paper: {paper.what}* | {b.n} | {b.k} | {_f(b.p_hat)} | {_ci(b)} "
            f"| {_p(b.p_value)} | – |"
        )
    lines += [
        "",
        "## Error rates on real and on fake images (HYPE)",
        "",
        "Real called fake and fake called real: the fraction of each kind answered wrongly. Error "
        "rate: all wrong answers / all trials (HYPE's score; 0.5 = people cannot tell), with a "
        f"95% interval from {report.bootstrap.n_boot} bootstrap resamples of participants.",
        "",
        "| source | real called fake | fake called real | error rate | 95% CI (people) "
        "| median response (s) |",
        "|---|---|---|---|---|---|",
    ]
    for arm in report.arms:
        c = arm.counts
        lines.append(
            f"| {arm.arm} | {_f(c.err_real)} ({c.n_real}) | {_f(c.err_fake)} ({c.n_fake}) "
            f"| {_f(c.hype_error)} | {_range(arm.err_boot_lo, arm.err_boot_hi)} "
            f"| {_f(c.median_rt_s, '.2f')} |"
        )
    if len(report.arms) > 1:
        lines += [
            "",
            f"Ranking by error rate kept in {_f(100 * report.bootstrap.ranking_stable, '.1f')}% "
            "of the participant resamples.",
        ]
    lines += _machine_lines(report)
    lines += _participant_lines(report)
    lines += _provenance_lines(report)
    return "\n".join(lines) + "\n"


def _machine_lines(report: StudyReport) -> list[str]:
    arms = [a for a in report.arms if a.machine is not None]
    if not arms:
        return []
    names = [k for k in arms[0].machine.accuracy if k != "mean"]
    lines = [
        "",
        "## People vs machines",
        "",
        "The machine realism panel (refine/diagnostics.py): fresh classifiers trained on half of "
        "the study's real and fake image pools (36×60, as stored) and scored on the other half; "
        "held-out accuracy, 0.5 = indistinguishable. Machines tell apart when any classifier's "
        "Wilson 95% interval lies above 0.5.",
        "",
        "| source | people: accuracy (95% CI) | " + " | ".join(names) + " | panel mean | reading |",
        "|---|---|" + "---|" * len(names) + "---|---|",
    ]
    for arm in arms:
        b = arm.counts.accuracy
        accs = " | ".join(_f(arm.machine.accuracy[n]) for n in names)
        lines.append(
            f"| {arm.arm} | {_f(b.p_hat)} ({_ci(b)}) | {accs} "
            f"| {_f(arm.machine.accuracy['mean'])} | {_reading(arm)} |"
        )
    return lines


def _participant_lines(report: StudyReport) -> list[str]:
    lines = [
        "",
        "## Per participant",
        "",
        "| participant | source | trials | right | accuracy | real called fake "
        "| fake called real | median response (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for pid, arm, c in report.per_participant:
        b = c.accuracy
        lines.append(
            f"| {pid} | {arm} | {b.n} | {b.k} | {_f(b.p_hat)} | {_f(c.err_real)} "
            f"| {_f(c.err_fake)} | {_f(c.median_rt_s, '.2f')} |"
        )
    return lines


def _provenance_lines(report: StudyReport) -> list[str]:
    rec = report.study.record
    d = rec.design
    lines = [
        "",
        "## Provenance",
        "",
        f"- study: `{report.study.path}`, created {rec.provenance.get('created_at', '?')} at "
        f"git {_sha(rec.provenance)}; from results `{rec.provenance.get('results_dir')}`",
        f"- report: git {_sha(report.report_git)}",
        f"- design: {d.trials_per_person} trials per person, seed {d.seed}, pool of "
        f"{d.pool_per_source} images per source, {d.upscale}× {d.interpolation}",
    ]
    for src in [rec.real, *rec.fakes]:
        lines.append(
            f"- {src.name}: {src.description}, store `{src.store_path}` "
            f"(checksum {src.checksum[7:19]}), pool of {len(rec.pools[src.name])}"
        )
    if report.torn_tail:
        lines.append("- answers.jsonl ends in an unterminated line (cut off by a crash): skipped")
    lines += ["", f"Generated by `bench turing report --study {report.study.path}`."]
    return lines


def _arm_row(report: StudyReport, arm: ArmReport) -> dict[str, Any]:
    rec, c, b = report.study.record, arm.counts, arm.counts.accuracy
    src = rec.source(arm.arm)
    row = {
        "kind": "study",
        "source": arm.arm,
        "description": arm.description,
        "trials": b.n,
        "right": b.k,
        "accuracy": b.p_hat,
        "ci95_lo": b.ci95_lo,
        "ci95_hi": b.ci95_hi,
        "p_value": b.p_value,
        "n_real": c.n_real,
        "err_real": c.err_real,
        "n_fake": c.n_fake,
        "err_fake": c.err_fake,
        "hype_error": c.hype_error,
        "hype_error_people_lo": arm.err_boot_lo,
        "hype_error_people_hi": arm.err_boot_hi,
        "ranking_stable": report.bootstrap.ranking_stable,
        "participants": arm.n_participants,
        "median_rt_s": c.median_rt_s,
    }
    if arm.machine is not None:
        row.update({f"machine_{k}_acc": v for k, v in arm.machine.accuracy.items()})
    row.update(
        {
            "store": src.store_path,
            "store_checksum": src.checksum,
            "study_seed": rec.design.seed,
            "study_git_sha": rec.provenance.get("git_sha"),
            "study_git_dirty": rec.provenance.get("git_dirty"),
            "git_sha": report.report_git.get("git_sha"),
            "git_dirty": report.report_git.get("git_dirty"),
        }
    )
    return row


def write_tables(report: StudyReport, out: Path) -> dict[str, Path]:
    """turing.csv (one row per source, then the paper's rows) and turing_per_participant.csv."""
    rows = [_arm_row(report, a) for a in report.arms]
    for paper in {a.paper.arm: a.paper for a in report.arms if a.paper}.values():
        b = paper.accuracy
        rows.append({"kind": "paper", "source": paper.arm, "description": paper.what,
                     "trials": b.n, "right": b.k, "accuracy": b.p_hat, "ci95_lo": b.ci95_lo,
                     "ci95_hi": b.ci95_hi, "p_value": b.p_value})  # fmt: skip
    people = [
        {
            "participant": p,
            "source": arm,
            "trials": c.accuracy.n,
            "right": c.accuracy.k,
            "accuracy": c.accuracy.p_hat,
            "err_real": c.err_real,
            "err_fake": c.err_fake,
            "median_rt_s": c.median_rt_s,
        }
        for p, arm, c in report.per_participant
    ]
    written = {}
    for key, name, data in [("csv", "turing.csv", rows), ("per_participant",
                            "turing_per_participant.csv", people)]:  # fmt: skip
        text = pd.DataFrame(data).to_csv(index=False, float_format="%.4f")
        written[key] = write_text_atomic(out / name, text)
    return written


def write_turing_report(
    study_dir: Path, out_dir: Path | None = None, machine: bool = True
) -> dict[str, Path]:
    """turing.md, turing.csv and turing_per_participant.csv into out_dir (default: the study)."""
    report = build_report(Path(study_dir), machine)
    out = Path(out_dir) if out_dir else Path(study_dir)
    written = write_tables(report, out)
    written["markdown"] = write_text_atomic(out / "turing.md", render_markdown(report))
    return written
