"""The handlers of the `trainlab` commands: each turns parsed arguments into library calls."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trainlab.errors import TrainlabError


def _config_from_args(args: argparse.Namespace):
    """The config of `train`, `tune` and `lr-find`: --config, then the task, --data/--model/--seed,
    then the key=value overrides, each later one winning."""
    from trainlab.config import build_config

    return build_config(_raw_config_from_args(args))


def _raw_config_from_args(args: argparse.Namespace) -> dict:
    """The plain config data `_config_from_args` validates."""
    from trainlab.config import apply_overrides, load_yaml, parse_overrides

    raw = load_yaml(args.config) if args.config else {}
    if args.task:
        raw["task"] = args.task
    flags = [("data.source", args.data), ("model", args.model), ("run.seed", args.seed)]
    overrides = [(key, value) for key, value in flags if value is not None]
    return apply_overrides(raw, overrides + parse_overrides(args.overrides))


def command_train(args: argparse.Namespace) -> int:
    from trainlab import experiment, runs

    config = _config_from_args(args)
    run_dir = args.out or runs.default_run_dir(config.task, config.data.source)
    metrics = experiment.train_run(config, run_dir, overwrite=args.overwrite, quiet=args.quiet)
    return _finish(run_dir, metrics, args.quiet)


def command_resume(args: argparse.Namespace) -> int:
    from trainlab import experiment

    metrics = experiment.resume_run(args.run_dir, quiet=args.quiet)
    return _finish(args.run_dir, metrics, args.quiet)


def _finish(run_dir: Path, metrics: dict, quiet: bool) -> int:
    from trainlab import runs
    from trainlab.training.distributed import rank_from_environment

    if rank_from_environment() != 0:  # under torchrun, rank 0 alone writes and prints
        return 0
    from trainlab.reports.plots import plot_run

    plot_run(run_dir)
    from trainlab.metrics.model_choice import chosen_model_sentence
    from trainlab.reports.run_report import write_run_report

    report = write_run_report(run_dir)
    if not quiet:
        runs.say(f"report: {report}")
        headline = {key: value for key, value in metrics.items()
                    if key.startswith("test_") and isinstance(value, float)}
        runs.say("  ".join(f"{key} {value:.4f}" for key, value in headline.items()))
        chosen = chosen_model_sentence(metrics)
        if chosen:
            runs.say(chosen)
        runs.say("run directory (config, history, metrics, checkpoints, plots):")
    print(run_dir)
    return 0


def command_evaluate(args: argparse.Namespace) -> int:
    if args.data is not None:
        from trainlab.evaluation import evaluate_on_data

        metrics = evaluate_on_data(args.run_dir, args.data)
    else:
        from trainlab import experiment

        metrics = experiment.evaluate_run(args.run_dir, quiet=True)
    print(json.dumps(metrics, indent=2))
    return 0


def command_predict(args: argparse.Namespace) -> int:
    from trainlab.predict import predict

    if args.input is not None:
        return _predict_many(args)
    if args.output or args.text_column:
        raise TrainlabError("--output and --text-column go with --input PATH")
    if not args.inputs:
        raise TrainlabError("give inputs to predict, or --input PATH (a folder, a table of texts, - for stdin)")
    for prediction in predict(args.run_dir, args.inputs):
        if args.json:
            print(json.dumps({"input": prediction.input, "label": prediction.label,
                              "probabilities": prediction.probabilities}))
            continue
        ranked = sorted(prediction.probabilities.items(), key=lambda item: -item[1])[:3]
        shown = "  ".join(f"{label} {probability:.3f}" for label, probability in ranked)
        text = prediction.input if len(prediction.input) <= 60 else prediction.input[:57] + "..."
        print(f"{prediction.label}\t{shown}\t{text}")
    return 0


def _predict_many(args: argparse.Namespace) -> int:
    from trainlab.batch_predict import predict_to_path

    if args.inputs or args.json:
        raise TrainlabError("--input PATH predicts a whole folder or file: give no other inputs, and no --json")
    written, skipped = predict_to_path(args.run_dir, args.input, args.output, args.text_column,
                                       show_progress=sys.stderr.isatty())
    if skipped:
        listed = "; ".join(f"{item.input}: {item.reason}" for item in skipped[:10])
        more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        print(f"trainlab: skipped {len(skipped)} unreadable input(s): {listed}{more}", file=sys.stderr)
    if not written:
        raise TrainlabError(f"--input {args.input}: no readable input to predict")
    if args.output:
        print(f"{written:,} predictions: {args.output}")
    return 0


def command_export(args: argparse.Namespace) -> int:
    from trainlab.export import export_run

    for path in export_run(args.run_dir, args.format, args.out):
        print(path)
    return 0


def command_forecast(args: argparse.Namespace) -> int:
    from trainlab import runs
    from trainlab.forecasting.future import forecast_future

    table = forecast_future(args.run_dir, args.horizon, args.data)
    path = args.out or args.run_dir / "forecast.csv"
    runs.atomic_write_text(path, table.to_csv())
    print(path)
    return 0


def command_generate(args: argparse.Namespace) -> int:
    import warnings

    from trainlab.generation import SamplingSettings, generate_from_run

    settings = SamplingSettings(args.temperature, args.top_k, args.top_p, args.repetition_penalty)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A shell passes "\n" as a backslash and an n: read it as the newline people mean.
        stop = args.stop.replace("\\n", "\n").replace("\\t", "\t") if args.stop is not None else None
        text = generate_from_run(args.run_dir, args.prompt, args.max_new_tokens, settings, stop, args.seed)
    for warning in caught:
        print(f"trainlab: warning: {warning.message}", file=sys.stderr)
    print(args.prompt + text)
    return 0


def command_study(args: argparse.Namespace) -> int:
    from trainlab import runs, studies
    from trainlab.config import parse_overrides

    study_dir, summary = studies.run(
        args.name, args.scale, args.seeds, args.out, parse_overrides(args.overrides),
        overwrite=args.overwrite, quiet=args.quiet, jobs=args.jobs, folds=args.folds,
    )
    if not args.quiet:
        runs.say(summary["finding"])
        runs.say("study directory (summary.json, report.html, one run directory per configuration and seed):")
    print(study_dir)
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    import time

    from trainlab import runs
    from trainlab.config import apply_overrides, load_yaml, parse_overrides
    from trainlab.sweeps import parse_sweep, run_sweep

    settings = parse_sweep(apply_overrides(load_yaml(args.config), parse_overrides(args.overrides)))
    out = args.out or Path("runs") / f"sweep-{args.config.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    after_trial = None
    if args.trial_reports:
        from trainlab.reports.plots import plot_run
        from trainlab.reports.run_report import write_run_report

        def after_trial(run_dir: Path) -> None:
            plot_run(run_dir)
            write_run_report(run_dir)

    outcome = run_sweep(settings, args.trials, out, storage=args.storage,
                        study_name=args.study_name or args.config.stem, quiet=args.quiet,
                        after_trial=after_trial)
    if outcome.summary is not None:
        from trainlab.reports.sweep_report import write_sweep_report

        report = write_sweep_report(out)
        best = outcome.summary["best"]
        if not args.quiet:
            runs.say(f"this worker ran {len(outcome.ran)} trial(s); the sweep has {outcome.summary['trials']}")
            if best:
                runs.say(f"best: trial {best['number']}, {settings.metric} {best['value']:.4g}; "
                         f"config {out / outcome.summary['best_config']}")
            runs.say(f"report: {report}")
    if not args.quiet:
        runs.say("sweep directory (summary.json, trials.csv, best_config.yaml, one run directory per trial):")
    print(out)
    return 0


def command_tune(args: argparse.Namespace) -> int:
    from trainlab import runs
    from trainlab.config import load_yaml
    from trainlab.sweeps import parse_sweep, run_sweep
    from trainlab.sweeps.tune import parse_budget, point_to_best, write_tune_config

    budget = parse_budget(args.budget)
    from trainlab.config import build_config

    base = _raw_config_from_args(args)
    config = build_config(base)  # the shared options alone must make a valid run
    out = args.out or runs.default_run_dir(f"tune-{config.task}", config.data.source)
    settings = parse_sweep(load_yaml(write_tune_config(base, out, args.quiet)))
    if not args.quiet:
        runs.say(f"tuning {', '.join(parameter.key for parameter in settings.space)} on {settings.metric} "
                 f"({settings.direction}) for at most {args.budget} or {args.trials} trials; the search: "
                 f"{out / 'tune.yaml'}")
    outcome = run_sweep(settings, args.trials, out, study_name="tune", quiet=args.quiet, budget_seconds=budget)
    best = (outcome.summary or {}).get("best")
    if not best:
        count = (outcome.summary or {}).get("trials", 0)
        raise TrainlabError(f"none of the {count} trials completed within --budget {args.budget} (pruned or "
                            f"diverged: {out / 'trials.csv'}); give a longer budget or other options")
    link = point_to_best(out, best["run_dir"])
    from trainlab.reports.plots import plot_run
    from trainlab.reports.run_report import write_run_report
    from trainlab.reports.sweep_report import write_sweep_report

    plot_run(link)
    write_run_report(link)
    report = write_sweep_report(out)
    if not args.quiet:
        runs.say(f"report: {report}")
        stopped = "the budget ended the search" if outcome.out_of_budget else f"{args.trials} trials ran"
        runs.say(f"{outcome.summary['trials']} trials ({stopped}); best: trial {best['number']}, "
                 f"{settings.metric} {best['value']:.4g} with {best['params']}")
        runs.say("the best trial's run directory (its test figures are the tuned model's):")
    print(link)
    return 0


def command_report(args: argparse.Namespace) -> int:
    from trainlab import rundir
    from trainlab.reports.plots import plot_run
    from trainlab.reports.run_report import write_run_report

    for run_dir in args.run_dirs:
        if not (run_dir / rundir.CONFIG_FILE).is_file():
            raise TrainlabError(f"'{run_dir}' is not a run directory (it has no {rundir.CONFIG_FILE}); "
                                "give a directory that `trainlab train` wrote")
        plot_run(run_dir)
        print(write_run_report(run_dir))
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from trainlab.reports.compare import default_compare_dir, write_comparison

    print(write_comparison(args.run_dirs, args.out or default_compare_dir()))
    return 0


def command_summary(args: argparse.Namespace) -> int:
    from trainlab.reports.model_summary import summarize_model, summarize_run

    target = Path(args.target)
    if target.is_dir():
        if args.input_shape:
            raise TrainlabError(f"--input-shape is for a model name; '{target}' is a directory, whose "
                                "data.json gives the input")
        print(summarize_run(target).to_text())
        return 0
    if not args.input_shape:
        raise TrainlabError(f"'{args.target}' is not a directory; for a model name add --input-shape, "
                            "e.g. --input-shape 3,32,32")
    try:
        shape = tuple(int(size) for size in args.input_shape.split(","))
    except ValueError:
        raise TrainlabError(f"--input-shape {args.input_shape}: give whole numbers separated by commas, "
                            "e.g. 3,32,32") from None
    if any(size < 1 for size in shape):
        raise TrainlabError(f"--input-shape {args.input_shape}: every size must be at least 1")
    print(summarize_model(args.target, shape, args.classes, args.task).to_text())
    return 0


def command_tour(args: argparse.Namespace) -> int:
    from trainlab import runs
    from trainlab.tour import default_tour_dir, run_tour

    def names(option: str | None) -> list[str] | None:
        return [name.strip() for name in option.split(",") if name.strip()] if option else None

    index, failed = run_tour(args.out or default_tour_dir(), names(args.only), names(args.skip))
    if failed:
        runs.say(f"{len(failed)} studies failed: {', '.join(failed)} (see index.html)")
    runs.say("tour index (one card per study, linking its report):")
    print(index)
    return 1 if failed else 0


def command_lr_find(args: argparse.Namespace) -> int:
    import time

    from trainlab import experiment, runs
    from trainlab.reports.regularisation_plots import plot_lr_finder
    from trainlab.training.lr_finder import lr_range_test

    config = _config_from_args(args)
    if args.steps < 2 or not 0 < args.start_lr < args.end_lr:
        raise TrainlabError(f"lr-find: need --steps >= 2 and 0 < --start-lr < --end-lr (got {args.steps}, "
                            f"{args.start_lr:g}, {args.end_lr:g})")
    data_name = Path(config.data.source).name or "data"
    out = args.out or Path("runs") / f"lr-find-{config.task}-{data_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    built = experiment.build_experiment(config, run_dir=None, quiet=True)
    trainer = built.trainer
    result = lr_range_test(trainer.model, trainer.task, trainer.optimizer, built.pipeline.train_batches,
                           start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps,
                           rule=args.rule, device=trainer.device)
    out.mkdir(parents=True, exist_ok=True)
    runs.write_json(out / "lr_find.json", result.to_dict())
    plot_lr_finder(result.to_dict(), out / "lr_find.png")
    suggestion = "none (the loss never fell)" if result.suggested_lr is None else f"{result.suggested_lr:.3g}"
    runs.say(f"suggested learning rate ({result.rule}): {suggestion}; "
             f"{len(result.lrs)} steps{', stopped when the loss diverged' if result.diverged else ''}")
    if result.suggested_lr is not None:
        runs.say(f"  e.g. trainlab train {config.task} --data {config.data.source} optim.lr={result.suggested_lr:.2g}")
    print(out)
    return 0


def command_list(args: argparse.Namespace) -> int:
    if args.kind == "models":
        # A table written from the registry (models/catalogue.py): listing it imports no torch.
        from trainlab.model_catalogue import MODELS, REFERENCE_NOTE

        name_width, task_width = (max(len(row[column] or "") for row in MODELS) for column in (0, 1))
        for name, task, count, summary in MODELS:
            size = _millions(count) if count is not None else ""
            print(f"{name:<{name_width}}  {task or '':<{task_width}}  {size:>7}  {summary}")
        print(REFERENCE_NOTE)
        return 0
    from trainlab import registry

    table = {"datasets": registry.datasets, "tasks": registry.tasks, "studies": registry.studies}[args.kind]
    entries = table.entries()
    if args.kind == "datasets":
        # A dataset made for no task `train` has (polynomial, sampled by the studies for their own
        # fits) cannot be trained on: listing it would only lead to an "unknown task" error.
        tasks = registry.tasks.names()
        entries = [entry for entry in entries if entry.task is None or entry.task in tasks]
    if not entries:
        print(f"no {args.kind} yet")
    width = max((len(entry.name) for entry in entries), default=0)
    task_width = max((len(entry.task or "") for entry in entries), default=0)
    for entry in entries:
        task = f"{entry.task or '':<{task_width}}  " if task_width else ""
        print(f"{entry.name:<{width}}  {task}{entry.summary}")
    return 0


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 10_000 else f"{count / 1e6:.4f}M"


def command_data(args: argparse.Namespace) -> int:
    from trainlab.config import apply_overrides, build_data_config, parse_overrides
    from trainlab.data import download, sources

    if args.data_command == "fetch":
        for path in download.fetch_dataset(args.name):
            print(path)
        return 0
    task = args.task or sources.guess_task(args.source)
    overrides = [("data.source", args.source), *parse_overrides(args.overrides)]
    for key, _ in overrides:
        if not key.startswith("data."):
            raise TrainlabError(f"'{key}': data show takes data options only (data.{key}=...)")
    data = build_data_config(apply_overrides({}, overrides)["data"], task)
    print(sources.load_source(task, data).summary())
    return 0

