"""`bench turing`: serve SimGAN's visual Turing test in a browser; `bench turing report`."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from benchmarks.commands.common import fail_cleanly, work_option

_DIR = click.Path(file_okay=False, path_type=Path)


@click.group("turing", invoke_without_command=True)
@click.option(
    "--results",
    "results_dir",
    type=_DIR,
    help="A `bench run` results dir [default: the latest under results/runs/].",
)
@work_option
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Fake images: refined, refined:<refiner>, synthetic or a store path (repeat for "
    "several; each gets its own half-real trials) [default: refined].",
)
@click.option(
    "--real",
    "real_path",
    type=_DIR,
    help="Real store [default: the run's held-out test store].",
)
@click.option(
    "--study",
    "study_dir",
    type=_DIR,
    help="Study dir (study.json + answers.jsonl); an existing one is resumed "
    "[default: RESULTS/turing-<sources>].",
)
@click.option("--trials", type=click.IntRange(2), help="Trials per person [default: 40].")
@click.option("--pool", type=click.IntRange(1), help="Images drawn per source [default: 200].")
@click.option("--seed", type=int, help="Seed of the pools and of every plan [default: 0].")
@click.option("--upscale", type=click.IntRange(1, 20), help="Display enlargement [default: 6].")
@click.option(
    "--interpolation",
    type=click.Choice(["nearest", "bilinear"]),
    help="How images are enlarged [default: nearest].",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 opens it to the lab network.",
)
@click.option("--port", default=8025, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
@fail_cleanly
def turing(
    ctx, results_dir, work_dir, sources, real_path, study_dir, trials, pool, seed, upscale,
    interpolation, host, port,
) -> None:  # fmt: skip
    """Serve a visual Turing test: held-out real eye images and images of a source, half and
    half in random order, one at a time; people answer real or fake. Answers are saved as they
    are given; run again to resume. `bench turing report` writes the numbers."""
    if ctx.invoked_subcommand is not None:
        return
    from benchmarks.commands.report import latest_results
    from benchmarks.turing.launch import StudyRequest, open_or_create
    from benchmarks.turing.server import make_server

    given = {"trials_per_person": trials, "pool_per_source": pool, "seed": seed,
             "upscale": upscale, "interpolation": interpolation}  # fmt: skip
    # --work given: look there only; from GAZEBENCH_WORK or the default: also where the run's
    # refiner fits say their work dir was
    typed = ctx.get_parameter_source("work_dir") is ParameterSource.COMMANDLINE
    request = StudyRequest(
        results_dir,
        work_dir if typed else None,
        tuple(sources),
        real_path,
        study_dir,
        {k: v for k, v in given.items() if v is not None},
        default_work=work_dir,
    )
    study, created = open_or_create(request, latest_results)
    server = make_server(study, host, port)
    log = server.app.config["TURING_STATE"].log
    d = study.design
    click.echo(
        f"{'created' if created else 'resuming'} study {study.path}: {', '.join(d.sources)} vs "
        f"real, {d.trials_per_person} trials per person, {len(log.counts)} participant(s) so far"
    )
    if log.torn_tail_dropped:
        click.echo("dropped an unterminated last answer line (cut off by a crash)")
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"open http://{shown}:{server.port}/ (Ctrl-C stops; answers are saved as given)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"listening on {host}: anyone who can reach this machine can take the study")
    try:
        server.serve_forever()  # returns on Ctrl-C (werkzeug catches the KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    click.echo(f"stopped; answers in {study.answers_path}")


@turing.command("report")
@click.option(
    "--study",
    "study_dir",
    type=_DIR,
    help="The study dir [default: the latest under results/runs/*/turing-*/].",
)
@click.option("--out", "out_dir", type=_DIR, help="Where to write [default: the study dir].")
@click.option("--no-machine", is_flag=True, help="Skip the machine realism panel.")
@fail_cleanly
def report_cmd(study_dir, out_dir, no_machine) -> None:
    """Per source: accuracy with its 95% CI and p against chance, HYPE error rates on real and
    fake images, per participant, the paper's results and the machine realism panel beside
    them -> turing.md, turing.csv, turing_per_participant.csv."""
    from benchmarks.turing.launch import latest_study
    from benchmarks.turing.report_md import write_turing_report

    written = write_turing_report(study_dir or latest_study(), out_dir, machine=not no_machine)
    for path in written.values():
        click.echo(f"wrote {path}")
