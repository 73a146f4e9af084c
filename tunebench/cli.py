"""tunebench command line: list | show | search | study | prefetch | compare | report | predict | ui.

main(argv) -> exit code; errors are one line, never a traceback.
"""


from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from tunebench import TunebenchError
from tunebench.search import SAMPLERS, SCHEDULERS, SEARCHES
from tunebench.search.methods import choices_help, scheduler_default_note
from tunebench.settings import DATA_PIPELINES, PRECISIONS, AccelSettings
from tunebench.tracking import DEFAULT_TRACKING_URI, Tracker

DESCRIPTION = "Hyperparameter search for image classification on Ray Tune, recorded in MLflow."
EPILOG = ("exit codes: 0 done; 1 an unexpected error (TUNEBENCH_DEBUG=1 shows the traceback); 2 bad input, one "
          "line on stderr; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP): resume with --resume")


class _Help(argparse.HelpFormatter):
    """An option's default at the end of its help, unless the help says it already or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every option's default in its help, the exit codes below it; errors in one line instead of usage + message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=_Help, epilog=EPILOG, **kwargs)

    def error(self, message: str):
        raise TunebenchError(f"{message} (see: {self.prog} --help)")


def _describe(domain: Any) -> str:
    """A Tune domain as the text a person would write: loguniform(0.001, 0.1), choice[5, 10]."""
    from ray.tune.search.sample import Categorical, Float, Integer

    if isinstance(domain, Categorical):
        return f"choice{list(domain.categories)}"
    if isinstance(domain, (Float, Integer)):
        sampler = type(domain.get_sampler()).__name__.lower().lstrip("_")
        kind = {"loguniform": "loguniform", "uniform": "uniform", "normal": "normal"}.get(sampler, sampler)
        return f"{'int ' if isinstance(domain, Integer) else ''}{kind}({domain.lower:g}, {domain.upper:g})"
    return repr(domain)


def cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from search_spaces import list_benchmarks

    rows = [dict(name=b.name, model=b.model, dataset=b.dataset, metric=f"{b.metric} ({b.mode})",
                 seed_report=b.seed_report, description=b.description) for b in list_benchmarks()]
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

    from search_spaces import NOTES, get_benchmark

    b = get_benchmark(args.benchmark)
    print(f"{b.name}: {b.description}\n  model {b.model}, dataset {b.dataset}, metric {b.metric} ({b.mode}), "
          f"{b.max_epochs} epochs, seed report {b.seed_report}")
    if NOTES.get(b.name):
        print("\n" + NOTES[b.name])
    print("\ndefaults:\n" + "\n".join(f"  {k} = {v}" for k, v in b.defaults.items()))
    print("\nsearch space (--search optuna | random):\n"
          + "\n".join(f"  {k}: {_describe(d)}" for k, d in b.tune_space().items()))
    if b.grid:
        print("\nthe report's values (--search grid | coordinate, in this order):\n"
              + "\n".join(f"  {k}: {list(v)}" for k, v in b.grid.items()))
    if b.conditions:
        print("\nconditions (a key searched only where the others take these values, elsewhere its default):\n"
              + "\n".join(f"  {k}: when {rule.describe()} (else {b.defaults[k]})" for k, rule in b.conditions.items()))
    if b.reference:
        from tunebench.reports import describe, format_value

        standard = {**b.defaults, "model": b.model}
        rows = [{"row": r.row.removeprefix(f"report {b.seed_report} "), "configuration (beside the defaults)": describe(
                    {k: v for k, v in r.config.items() if k not in ("epochs", "seed") and v != standard.get(k)}),
                 **{k: v for k, v in r.figures.items() if k != "confusion"}} for r in b.reference]
        print(f"\nreport {b.seed_report}'s figures, by the configuration that produced them "
              f"(tunebench study regenerates them):\n"
              + pd.DataFrame(rows).to_string(index=False, na_rep="-", max_colwidth=48, float_format=format_value))
    if b.smoke:
        print("\n--smoke: " + ", ".join(f"{k}={v}" for k, v in b.smoke.items()))
    return 0


def _options(args: argparse.Namespace, **chosen: Any):
    """SearchOptions from the options `search` and `study` share, and what the command chose."""
    from tunebench.data import resolve_data_dir
    from tunebench.search import SearchOptions

    return SearchOptions(
        data_dir=resolve_data_dir(args.data_dir), max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, seed=args.seed, smoke=args.smoke,
        name=args.name, storage_path=Path(args.storage_path), tracking_uri=args.tracking_uri, download=args.download,
        address=args.address, max_failures=args.max_failures, resume=args.resume, data_pipeline=args.data_pipeline,
        reuse_actors=not args.no_reuse_actors,
        accel=AccelSettings(precision=args.precision, channels_last=not args.no_channels_last, compile=args.compile),
        **chosen)


def cmd_search(args: argparse.Namespace) -> int:
    from search_spaces import get_benchmark
    from tunebench.hparams import parse_overrides
    from tunebench.search.session import run_search

    benchmark = get_benchmark(args.benchmark)
    overrides = parse_overrides(args.set or [], benchmark.on_dataset(args.dataset).defaults)
    run_search(benchmark, _options(args, search=args.search, scheduler=args.scheduler, num_samples=args.num_samples,
                                   max_epochs=args.max_epochs, overrides=overrides, retry_errored=args.retry_errored,
                                   test=args.test, dataset=args.dataset, register_model=args.register_model,
                                   time_budget_s=args.time_budget, sampler=args.sampler,
                                   objectives=args.objective or (), warm_start=args.warm_start))
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    import pandas as pd

    from search_spaces import BENCHMARKS
    from search_spaces.studies import NOTES, STUDIES, get_study

    if not args.study:
        print(pd.DataFrame([dict(study=s.name, report=s.seed_report, tables=", ".join(t.id for t in s.tables),
                                 rows=sum(len(t.rows) for t in s.tables), title=s.title)
                            for s in STUDIES.values()]).to_string(index=False))
        print("\ntunebench study NAME --dry-run shows what a study runs")
        return 0
    study = get_study(args.study)
    if args.dry_run:
        from tunebench.study_tables import dry_run

        print(dry_run(study, BENCHMARKS, smoke=args.smoke, seed=args.seed))
        if NOTES.get(study.name):
            print("\n" + NOTES[study.name])
        return 0
    from tunebench.search.study_session import run_study

    output = Path(args.output or f"reports/{study.name}")
    run_study(study, BENCHMARKS, _options(args, log_models=args.log_models), output)
    return 0


def cmd_prefetch(args: argparse.Namespace) -> int:
    from search_spaces import get_benchmark
    from tunebench.data import resolve_data_dir
    from tunebench.search.prefetch import prefetch

    benchmark = get_benchmark(args.benchmark)
    prefetch(benchmark, resolve_data_dir(args.data_dir))
    print(f"{benchmark.name}: data and weights are in place (weights cache: $TORCH_HOME)")
    return 0


def _number(kind: type, low: float, high: float | None = None, low_open: bool = False):
    """An argparse type: a finite number of `kind` within [low, high] ((low, high] with low_open)."""
    def parse(text: str):
        try:
            value = float(text) if kind is float else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'a number' if kind is float else 'a whole number'}, "
                                             f"got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if value < low or (low_open and value == low) or (high is not None and value > high):
            bound = f"> {low}" if low_open else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}{f' and <= {high}' if high is not None else ''}, "
                                             f"got {text}")
        return value
    return parse


def _duration(text: str) -> float:
    """An argparse type: a duration as 90m, 45s, 2h, 1h30m (or seconds), in seconds."""
    import re

    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or not parts or not any(parts.groups()):
        raise argparse.ArgumentTypeError(f"expected a duration such as 90m, 45s, 2h or 1h30m, got {text!r}")
    hours, minutes, seconds = (float(g or 0) for g in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0, got {text!r}")
    return total


_COUNT = _number(int, 1)


def _objectives(text: str) -> tuple[tuple[str, str], ...]:
    """An argparse type: METRIC:MODE[,METRIC:MODE...] as ((metric, mode), ...); mode min or max."""
    objectives = []
    for part in text.split(","):
        metric, _, mode = part.strip().partition(":")
        if not metric or mode not in ("min", "max"):
            raise argparse.ArgumentTypeError(f"expected METRIC:min or METRIC:max, comma-separated, got {part!r}")
        objectives.append((metric, mode))
    if len({metric for metric, _ in objectives}) < len(objectives):
        raise argparse.ArgumentTypeError(f"a metric given twice in {text!r}")
    return tuple(objectives)


_SEED = _number(int, 0, 2**32 - 1)  # numpy's and Optuna's seeds are unsigned 32-bit


def _plain_name(text: str) -> str:
    """--name is a folder in --storage-path and the MLflow run's name: one plain name, no path."""
    if not text.strip() or text in (".", "..") or any(c in text for c in "/\\\0") or os.path.isabs(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain name (no '/' or '\\', not '.' or '..'): it "
                                         "names a folder inside --storage-path")
    return text


COMPARE_FORMATS = ("table", "markdown", "csv", "html")


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from search_spaces import BENCHMARKS
    from tunebench.recorded import recorded_name
    from tunebench.reports import compare_table, recorded_totals, smoke_searches

    tracker = Tracker(args.tracking_uri)
    names = [recorded_name(name, tracker) for name in args.benchmarks] if args.benchmarks else None
    searches = tracker.searches(names)
    of = f"{' of ' + ', '.join(names) if names else ''}"
    if searches.empty:
        raise TunebenchError(f"no searches{of} in {args.tracking_uri}")
    smoke = smoke_searches(searches)
    if not args.include_smoke:
        searches = searches[~smoke]
        if searches.empty:
            raise TunebenchError(f"only smoke searches{of} in {args.tracking_uri} ({int(smoke.sum())}; "
                                 f"--include-smoke shows them)")
    info = {b.name: {"dataset": b.dataset, "metric": b.metric, "references": b.reference} for b in BENCHMARKS.values()}
    # finished searches carry their trials' totals; the trial runs of the others are read
    unfinished = [tracker.trials_of(s["experiment_id"], s["run_id"]) for _, s in searches.iterrows()
                  if recorded_totals(s) is None]
    table = compare_table(searches, pd.concat(unfinished, ignore_index=True) if unfinished else pd.DataFrame(), info)
    render = {"table": lambda t: t.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
              "markdown": lambda t: t.to_markdown(index=False, floatfmt=".4g"),
              "csv": lambda t: t.to_csv(index=False),
              "html": lambda t: t.to_html(index=False, float_format=lambda v: f"{v:.4g}")}[args.format]
    text = render(table)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n")
        except OSError as exc:
            raise TunebenchError(f"cannot write --output {args.output}: {exc.strerror}") from None
        print(f"{len(table)} searches written to {args.output}")
    else:
        print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tunebench.recorded import report_benchmark
    from tunebench.study_report import write_report

    tracker = Tracker(args.tracking_uri)
    benchmark = report_benchmark(args.benchmark, args.search, tracker)
    output = Path(args.output or f"reports/{benchmark.name}")
    path = write_report(tracker, benchmark, args.search, output)
    print(f"report: {path} and {path.with_suffix('.html')} (also on the search's MLflow run under report/)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tunebench.predict import predict_images

    table = predict_images(Tracker(args.tracking_uri), args.source, args.images,
                           warn=lambda line: print(f"warning: {line}", file=sys.stderr))
    output = Path(args.output)
    try:
        table.to_csv(output, index=False)
    except OSError as exc:
        raise TunebenchError(f"cannot write --output {output}: {exc.strerror}") from None
    shown = table.assign(file=table["file"].map(lambda f: Path(f).name))[["file", "predicted", "confidence"]]
    print(shown.head(20).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if len(table) > 20:
        print(f"... {len(table) - 20} more")
    print(f"{len(table)} predictions, with every class's probability: {output}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from tunebench.ui import serve

    return serve(args.tracking_uri, args.host, args.port, args.workers)


def _tracking_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI),
                        help=f"MLflow store (default: $MLFLOW_TRACKING_URI, else {DEFAULT_TRACKING_URI})")


def _run_options(parser: argparse.ArgumentParser, what: str, resume: str) -> None:
    """The options of a run on Ray Tune (`search`, `study`): data, resources, storage, resume, the device."""
    parser.add_argument("--data-dir", help="dataset folder (default: $TUNEBENCH_DATA, else ./data)")
    parser.add_argument("--download", action="store_true", help="download the dataset if it is missing")
    parser.add_argument("--smoke", action="store_true", help="a tiny run: small images, few images, a few minutes")
    parser.add_argument("--seed", type=_SEED, default=0,
                        help="seed of the searcher and of every trial's training, 0..2**32-1 (default 0)")
    parser.add_argument("--name", type=_plain_name,
                        help=f"name of the {what}: its folder in --storage-path and its MLflow parent run")
    parser.add_argument("--storage-path", default="ray_results", help="where Ray keeps trials and checkpoints")
    parser.add_argument("--resume", action="store_true", help=f"continue {resume}")
    parser.add_argument("--address", help="run on a running Ray cluster: auto | HOST:PORT | ray://HOST:10001")
    parser.add_argument("--max-concurrent", type=_COUNT, help="at most this many trials at once")
    parser.add_argument("--cpus-per-trial", type=_number(float, 0, low_open=True), default=1.0,
                        help="CPUs each trial reserves (default 1; fractions pack trials on a core)")
    parser.add_argument("--gpus-per-trial", type=_number(float, 0),
                        help="fractions pack trials on a GPU (default: 1 if the cluster has GPUs, else 0)")
    parser.add_argument("--max-failures", type=_number(int, -1), default=0,
                        help="retry a trial that raised this many times, from its last checkpoint (default 0; "
                             "-1: retry without limit)")
    parser.add_argument("--data-pipeline", choices=DATA_PIPELINES, default=DATA_PIPELINES[0],
                        help="cached (default): decode each split once into a memory-mapped cache shared by the "
                             "node's trials, augment whole batches on the device; naive: DataLoader decoding "
                             "every image every epoch (the baseline)")
    parser.add_argument("--precision", choices=PRECISIONS, default=AccelSettings.precision,
                        help="on CUDA: bf16 autocast (default) or fp32; CPU trials always run fp32")
    parser.add_argument("--no-channels-last", action="store_true", help="on CUDA: keep NCHW instead of channels_last")
    parser.add_argument("--compile", action="store_true", help="torch.compile each trial's model")
    parser.add_argument("--no-reuse-actors", action="store_true",
                        help="a fresh worker process per trial (default: a finished trial's worker, its imports "
                             "done and data mapped, runs the next one)")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", "-q", action="store_true",
                          help="print only errors and where the results are (for scripts)")
    loudness.add_argument("--verbose", "-v", action="store_true",
                          help="also every epoch, and Ray's, MLflow's and Optuna's own warnings and logs")
    _tracking_option(parser)


def build_parser() -> argparse.ArgumentParser:
    from tunebench import __version__

    parser = _Parser(prog="tunebench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tunebench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="the benchmarks tunebench ships").set_defaults(run=cmd_list)

    show = commands.add_parser("show", help="a benchmark's defaults, space, the report's values and results")
    show.add_argument("benchmark", help="benchmark name or path to a search-space .py file")
    show.set_defaults(run=cmd_show)

    search = commands.add_parser("search", help="run a hyperparameter search on Ray Tune, recorded in MLflow")
    search.add_argument("benchmark", help="benchmark name (tunebench list) or path to a search-space .py file")
    offered = {name: method for name, method in SEARCHES.items() if method.cli}
    search.add_argument("--search", choices=list(offered), default="optuna", help=choices_help(offered))
    search.add_argument("--scheduler", choices=list(SCHEDULERS),
                        help=choices_help(SCHEDULERS, scheduler_default_note))
    search.add_argument("--sampler", choices=list(SAMPLERS), default="tpe",
                        help="--search optuna's sampler, seeded with --seed: " + choices_help(SAMPLERS))
    search.add_argument("--objective", type=_objectives, metavar="METRIC:MODE[,METRIC:MODE...]",
                        help="what the search optimises, any metric a trial reports each epoch (val_acc, val_loss, "
                             "val_macro_f1, train_loss, epoch_time_s or epoch_seconds, images_per_s, model_mb, "
                             "trainable_params, ...; default: the benchmark's metric); several, e.g. "
                             "val_acc:max,epoch_time_s:min, make --search optuna a multi-objective search and end "
                             "any search with the Pareto front of its trials (pareto_front.csv and .png). The first "
                             "one is what schedulers, the results table and the best trial use; with several the "
                             "default scheduler is fifo (ASHA would judge trials by the first alone)")
    search.add_argument("--warm-start", metavar="report|mlflow[:SEARCH]",
                        help="report: the report's configurations run first; mlflow: the sampler starts from the "
                             "finished trials of this benchmark's earlier searches in the MLflow store (mlflow:SEARCH: "
                             "of one search, its run id or name) (--search optuna; report: random too)")
    search.add_argument("--dataset", choices=("folder",),
                        help="folder: the benchmark's recipe on your own images in --data-dir, DIR/<class>/<image> "
                             "(split by --set split=TRAIN/VAL/TEST, default 80/10/10) or "
                             "DIR/{train,val,test}/<class>/<image>; the model's output fits the classes found")
    search.add_argument("--num-samples", type=_COUNT, help="trials for optuna/random (default 16)")
    search.add_argument("--max-epochs", type=_COUNT, help="epochs per trial (default: the benchmark's)")
    search.add_argument("--set", nargs="+", metavar="KEY=VALUE",
                        help="fix a hyperparameter (lr=0.01) or restrict it to values (lr=0.01,0.1)")
    search.add_argument("--test", choices=("best", "all"), default="best",
                        help="score the best trial on the test split (default), or every trial at its "
                             "best-validation epoch")
    search.add_argument("--register-model", metavar="NAME",
                        help="also register the best model in MLflow's model registry under this name")
    search.add_argument("--retry-errored", action="store_true", help="with --resume: rerun errored trials too")
    search.add_argument("--time-budget", type=_duration, metavar="DURATION",
                        help="90m, 45s, 2h, 1h30m: no trial starts after it, running trials stop at it, and the "
                             "search ends as a finished one does (the best trial so far on the test split)")
    _run_options(search, "search", "an interrupted search (--name, default: this benchmark's latest) with the "
                                   "same MLflow runs")
    search.set_defaults(run=cmd_search)

    study = commands.add_parser("study", help="regenerate a report's tables: every row scored on the test split "
                                              "beside the report's figures")
    study.add_argument("study", nargs="?", help="a study (tunebench study lists them)")
    study.add_argument("--dry-run", action="store_true", help="print the rows, trials and epochs it will run")
    study.add_argument("--output", help="folder for the tables (default reports/STUDY)")
    study.add_argument("--log-models", action="store_true",
                       help="log every row's model on its MLflow run (runs:/RUN/model), as a search does its best")
    _run_options(study, "study", "an interrupted study (--name, default: this study's latest); finished parts "
                                 "are kept")
    study.set_defaults(run=cmd_study)

    fetch = commands.add_parser("prefetch", help="download a benchmark's dataset and ImageNet weights once")
    fetch.add_argument("benchmark")
    fetch.add_argument("--data-dir", help="dataset folder (default: $TUNEBENCH_DATA, else ./data)")
    fetch.set_defaults(run=cmd_prefetch)

    compare = commands.add_parser("compare", help="one row per search across benchmarks, beside the reports' results")
    compare.add_argument("benchmarks", nargs="*", metavar="BENCHMARK", help="only these benchmarks (default: all)")
    compare.add_argument("--format", choices=COMPARE_FORMATS, default="table")
    compare.add_argument("--output", help="write to this file instead of printing")
    compare.add_argument("--include-smoke", action="store_true",
                         help="also the --smoke searches (left out by default: their figures mean nothing)")
    _tracking_option(compare)
    compare.set_defaults(run=cmd_compare)

    report = commands.add_parser("report", help="a search's study report: Markdown + PNGs + HTML")
    report.add_argument("benchmark")
    report.add_argument("--search", default="latest", help="the search's MLflow parent run id, or latest (default)")
    report.add_argument("--output", help="folder for report.md, report.html and the plots (default reports/NAME)")
    _tracking_option(report)
    report.set_defaults(run=cmd_report)

    predict = commands.add_parser("predict", help="classify images with a search's best model (from MLflow)")
    predict.add_argument("source", metavar="BENCHMARK|RUN_ID|MODEL_URI",
                         help="a benchmark (its latest search's model), a search's run id, or an MLflow model URI "
                              "(runs:/RUN/model, models:/NAME/VERSION)")
    predict.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, or folders of them")
    predict.add_argument("--output", default="predictions.csv",
                         help="CSV of file, predicted class, confidence and each class's probability "
                              "(default predictions.csv)")
    _tracking_option(predict)
    predict.set_defaults(run=cmd_predict)

    ui = commands.add_parser("ui", help="the MLflow UI on the tracking store")
    ui.add_argument("--port", type=_number(int, 1, 65535), default=5000, help="port to serve on")
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: every interface)")
    ui.add_argument("--workers", type=_COUNT, default=1,
                    help="server processes: one answers within seconds (MLflow's own is 4)")
    _tracking_option(ui)
    ui.set_defaults(run=cmd_ui)
    return parser


def _set_verbosity(args: argparse.Namespace) -> None:
    """--quiet / --verbose for this process and the Ray workers it starts; the libraries' chatter hidden unless
    --verbose."""
    from tunebench import console

    console.set_verbosity(console.QUIET if getattr(args, "quiet", False)
                          else console.VERBOSE if getattr(args, "verbose", False) else console.NORMAL)
    console.quiet_libraries()


def main(argv: Sequence[str] | None = None) -> int:
    from tunebench.signals import stop_signals_interrupt

    stop_signals_interrupt()  # SIGTERM and SIGHUP stop tunebench as Ctrl-C does
    try:
        args = build_parser().parse_args(argv)
        _set_verbosity(args)
        return args.run(args)
    except TunebenchError as exc:
        print(f"tunebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tunebench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; TUNEBENCH_DEBUG=1 shows it
        if os.environ.get("TUNEBENCH_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"tunebench: error: {type(exc).__name__}: {message} (TUNEBENCH_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    from tunebench.__main__ import main_entry

    main_entry()
