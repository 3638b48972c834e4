"""Run a study: every arm with every seed as an ordinary run directory, then summary.json.

A study directory holds `<arm>/seed-<k>/` run directories, `study.json` (what was asked) and, when
every run is done, `summary.json`. Running the same study into the same directory again skips the
runs that completed, so an interrupted study continues where it stopped.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from trainlab import rundir, runs
from trainlab.config import apply_overrides, build_config
from trainlab.errors import TrainlabError
from trainlab.metrics.statistics import NADEAU_BENGIO, Difference, difference, estimate
from trainlab.studies.plan import Arm, StudyPlan

STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.json"


def run_study(
    plan: StudyPlan,
    study_dir: Path,
    scale: str,
    seeds: int | None = None,
    overrides: list[tuple[str, Any]] = (),
    overwrite: bool = False,
    quiet: bool = False,
    jobs: int = 1,
    folds: int | None = None,
) -> dict[str, Any]:
    """Run (or finish) every arm x seed of `plan` into `study_dir`; returns the summary.

    With `jobs` > 1 the runs go to that many worker processes, each with its share of the CPU
    threads; every run still gets its own seed, so the results are those of `jobs=1`.

    With `folds` = K, each arm runs K times instead of once per seed: stratified K-fold
    cross-validation over the training and validation images together, fold k held out for
    validation in run `<arm>/fold-<k>/` (every fold with seed 0, so only the data differ); the
    test split stays the same. The summary's intervals are then over folds.
    """
    if jobs < 1:
        raise TrainlabError(f"--jobs {jobs}: give 1 (one run after another) or more processes")
    if folds is not None:
        _check_folds(plan, seeds, folds)
    replicate = "seed" if folds is None else "fold"
    seeds = folds or seeds or plan.seeds
    request = {"study": plan.name, "scale": scale, "seeds": seeds,
               "overrides": [f"{key}={value}" for key, value in overrides]}
    if folds is not None:
        request["folds"] = folds
    _prepare_study_dir(study_dir, request, overwrite)
    # Every config is validated before the first run starts: a typo fails in a second, not an hour.
    configs = {(arm.name, index): _arm_config(plan, arm, index if folds is None else 0, study_dir, overrides)
               for arm in plan.arms for index in range(seeds)}
    pending = [(index, arm_name, seed, config)
               for index, ((arm_name, seed), config) in enumerate(configs.items(), start=1)
               if not rundir.is_complete(study_dir / arm_name / f"{replicate}-{seed}")]
    total = len(configs)

    def report(index: int, arm_name: str, seed: int, metrics: dict[str, Any], seconds: float) -> None:
        if quiet:
            return
        value = metrics.get(plan.metrics[0])
        shown = f"{value:.4f}" if isinstance(value, float) else value
        # A headline the study derives once every run is done (run_metrics) is not there yet.
        score = "" if value is None and plan.run_metrics is not None else f": {plan.metrics[0]} {shown}"
        runs.say(f"[{index}/{total}] {plan.name}: {arm_name}, {replicate} {seed}{score} ({seconds:.0f} s)")

    work = [(plan.run_arm, plan.callbacks, config, seed if folds is None else 0,
             study_dir / arm_name / f"{replicate}-{seed}", None if folds is None else (seed, folds))
            for _, arm_name, seed, config in pending]
    if jobs == 1 or len(pending) <= 1:
        from trainlab.pipelines.text_classification import remembered_tfidf_scores

        with remembered_tfidf_scores():
            for (index, arm_name, seed, _), item in zip(pending, work):
                report(index, arm_name, seed, *_run_one(*item))
    else:
        run_dirs = {study_dir / arm_name / f"{replicate}-{seed}": position
                    for position, (_, arm_name, seed, _) in enumerate(pending)}
        arms = {arm.name: arm for arm in plan.arms}
        needs = [runs_started_from(arms[arm_name], seed if folds is None else 0, study_dir, run_dirs)
                 for _, arm_name, seed, _ in pending]
        _run_in_processes(pending, work, needs, jobs, report)
    summary = summarize(plan, study_dir, seeds, scale, replicate)
    runs.write_json(study_dir / SUMMARY_FILE, summary)
    return summary


def _check_folds(plan: StudyPlan, seeds: int | None, folds: int) -> None:
    if seeds is not None:
        raise TrainlabError(f"--folds {folds} and --seeds {seeds}: give one of them (folds run with seed 0)")
    if folds < 2:
        raise TrainlabError(f"--folds {folds}: cross-validation needs at least 2 folds")
    tasks = {arm.config.get("task") for arm in plan.arms}
    if plan.run_arm is not None or tasks != {"image-classification"}:
        raise TrainlabError(
            f"--folds: study {plan.name} does not train image classifiers on a data split, and "
            "cross-validation is implemented for image-classification studies only; use --seeds"
        )


def _run_one(
    run_arm: Callable | None, callbacks: Callable | None, config: Any, seed: int, run_dir: Path,
    fold: tuple[int, int] | None = None,
) -> tuple[dict[str, Any], float]:
    """One arm with one seed (and fold k of K) into `run_dir`: (its metrics, wall seconds)."""
    from trainlab import experiment  # imported here: the study modules load without torch work

    started = time.perf_counter()
    if run_arm is not None:
        rundir.prepare_run_dir(run_dir, overwrite=True)
        runs.atomic_write_text(run_dir / rundir.CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))
        metrics = run_arm(config, seed, run_dir)
        runs.write_json(run_dir / rundir.METRICS_FILE, metrics)  # last: marks the run complete
    elif callbacks is not None or fold is not None:
        metrics = train_run_with_callbacks(config, run_dir, callbacks, fold)
    else:
        metrics = experiment.train_run(config, run_dir, overwrite=True, quiet=True)
    return metrics, time.perf_counter() - started


def train_run_with_callbacks(
    config: Any, run_dir: Path, make_callbacks: Callable[[Any, Path], list] | None,
    fold: tuple[int, int] | None = None,
) -> dict:
    """`experiment.train_run`, with the callbacks `make_callbacks(experiment, run_dir)` added and,
    with `fold` = (k, K), fold k of a stratified K-fold split as the validation data."""
    from trainlab import experiment

    def prepare(built: Any) -> None:
        if fold is not None:
            use_fold(built.pipeline, *fold)
        if make_callbacks is not None:
            built.trainer.add_callbacks(make_callbacks(built, run_dir))

    return experiment.train_run(config, run_dir, overwrite=True, quiet=True, prepare=prepare)


def use_fold(pipeline: Any, fold: int, folds: int) -> None:
    """Make fold `fold` of a stratified `folds`-fold split of the pipeline's training and validation
    images its validation split, and the other folds its training split (in place).

    The normalisation statistics are refitted on the new training split, so the held-out fold
    leaks nothing into training; the test split is untouched.
    """
    import torch

    from trainlab.data.splits import ClassificationSplits
    from trainlab.metrics.statistics import stratified_folds
    from trainlab.pipelines.image_classification import ImageClassification

    if not isinstance(pipeline, ImageClassification):
        raise TrainlabError("--folds: cross-validation is implemented for image-classification runs only")
    config, data = pipeline.config, pipeline.data
    pool = [data.train] if data.val is None else [data.train, data.val]
    images, labels = torch.cat([pair[0] for pair in pool]), torch.cat([pair[1] for pair in pool])
    try:
        parts = stratified_folds(labels.numpy(), folds, seed=config.data.split_seed)
    except ValueError as error:
        raise TrainlabError(f"--folds {folds}: {error}") from None
    held_out = torch.from_numpy(parts[fold])
    kept = torch.from_numpy(np.sort(np.concatenate([part for index, part in enumerate(parts) if index != fold])))
    pipeline.use_splits(ClassificationSplits(data.name, (images[kept], labels[kept]),
                                             (images[held_out], labels[held_out]), data.test, data.classes))
    pipeline.info = {**pipeline.info, "summary": f"{pipeline.data.summary()}; validation = fold {fold} of {folds}",
                     "fold": fold, "folds": folds}


def runs_started_from(arm: Arm, seed: int, study_dir: Path, run_dirs: dict[Path, int]) -> set[int]:
    """The runs of `run_dirs` (directory -> position) that `arm`'s run with `seed` starts from: those
    whose directory its config names (`{study_dir}/pretrain/seed-{seed}/checkpoints/best`)."""
    texts = _strings(_fill(arm.config, {"study_dir": str(study_dir), "seed": str(seed)}))
    return {position for run_dir, position in run_dirs.items()
            if any(text == str(run_dir) or text.startswith(f"{run_dir}{os.sep}") for text in texts)}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def _run_in_processes(pending: list, work: list, needs: list[set[int]], jobs: int, report: Callable) -> None:
    """Run `work` in `jobs` processes; run i starts once the runs `needs[i]` (positions) are done.
    One run after another keeps the plan's order, in which an arm comes after the arms it starts from."""
    # Spawned, not forked: a forked child inherits torch's thread pools in an undefined state.
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")
    waiting, done, running = set(range(len(work))), set(), {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(threads,)) as pool:
        while waiting or running:
            for position in sorted(position for position in waiting if needs[position] <= done):
                running[pool.submit(_run_one, *work[position])] = position
                waiting.discard(position)
            if not running:
                names = ", ".join(f"{pending[position][1]} seed {pending[position][2]}"
                                  for position in sorted(_in_cycles(waiting, needs)))
                raise TrainlabError(f"study: the runs {names} start from one another, so none can run first; "
                                    "make one of their arms start from a run outside them")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                position = running.pop(future)
                index, arm_name, seed, _ = pending[position]
                report(index, arm_name, seed, *future.result())
                done.add(position)


def _in_cycles(waiting: set[int], needs: list[set[int]]) -> set[int]:
    """The runs of `waiting` that start, through others, from themselves: what is left after
    dropping, again and again, the runs no other waiting run starts from."""
    left = set(waiting)
    while unneeded := {position for position in left if not any(position in needs[other] for other in left)}:
        left -= unneeded
    return left


def _start_worker(threads: int) -> None:
    import torch

    from trainlab.pipelines.text_classification import remember_tfidf_scores_from_now_on

    torch.set_num_threads(threads)
    remember_tfidf_scores_from_now_on()


def _prepare_study_dir(study_dir: Path, request: dict[str, Any], overwrite: bool) -> None:
    study_file = study_dir / STUDY_FILE
    if study_file.is_file() and not overwrite:
        previous = rundir.read_json(study_file)
        if previous != request:
            raise TrainlabError(
                f"'{study_dir}' holds another study run ({previous['study']}, scale {previous['scale']}, "
                f"{previous['seeds']} seeds, overrides {previous['overrides']}); choose another --out "
                "or add --overwrite"
            )
        return  # the same study again: finish what is missing
    if study_dir.is_dir() and any(study_dir.iterdir()):
        if not study_file.is_file():
            raise TrainlabError(
                f"'{study_dir}' is not empty and holds no {STUDY_FILE}; choose another --out"
            )
        shutil.rmtree(study_dir)  # --overwrite of a study directory
    study_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json(study_file, request)


def _arm_config(plan: StudyPlan, arm: Arm, seed: int, study_dir: Path, overrides: list[tuple[str, Any]]):
    raw = _fill(copy.deepcopy(arm.config), {"study_dir": str(study_dir), "seed": str(seed)})
    if plan.run_arm is not None:  # not a training run: plain data, checked by the study
        raw = apply_overrides(raw, list(overrides))
        if plan.check_arm is not None:
            plan.check_arm(raw)
        return raw
    raw = apply_overrides(raw, [*overrides, ("run.seed", seed)])
    return build_config(raw)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    return value


def summarize(plan: StudyPlan, study_dir: Path, seeds: int, scale: str, replicate: str = "seed") -> dict[str, Any]:
    """Each arm's metrics over seeds (mean, std, 95% CI), the comparisons and the finding;
    `replicate` "fold": over the folds of a cross-validation (`seeds` is then their number), with
    Nadeau & Bengio's corrected intervals, since folds share training data. Two arms are compared
    paired by seed (fold) where both have the metric for every one of them."""
    # Each of K folds trains on the other K - 1: n_held_out / n_train = 1 / (K - 1).
    held_out_ratio = 1 / (seeds - 1) if replicate == "fold" else None
    values: dict[str, dict[str, list[float | None]]] = {}  # per seed, None where a run lacks it
    rows = []
    for arm in plan.arms:
        per_seed = [_run_results(plan, study_dir / arm.name / f"{replicate}-{seed}") for seed in range(seeds)]
        values[arm.name] = {
            metric: [None if metrics.get(metric) is None else float(metrics[metric]) for metrics in per_seed]
            for metric in plan.metrics
        }
        row: dict[str, Any] = {"arm": arm.name, "label": arm.label or arm.name,
                               "params": per_seed[0].get("params")}
        for metric, metric_values in values[arm.name].items():
            present = [value for value in metric_values if value is not None]
            row[metric] = estimate(present, held_out_ratio).to_dict() if present else None
        rows.append(row)
    headline = plan.metrics[0]
    comparisons = [
        {"a": a, "b": b, "metric": headline,
         **_compared(values[a][headline], values[b][headline], held_out_ratio).to_dict()}
        for a, b in plan.comparisons
    ]
    summary: dict[str, Any] = {
        "study": plan.name,
        "question": plan.question,
        "data": plan.data_note,
        "scale": scale,
        "seeds": seeds,
        **({"folds": seeds} if replicate == "fold" else {}),
        "interval": _interval_note(replicate, seeds, comparisons),
        "headline_metric": headline,
        "higher_is_better": plan.higher_is_better,
        "metrics": plan.metrics,
        "rows": rows,
        "comparisons": comparisons,
    }
    best = max if plan.higher_is_better else min
    summary["best_arm"] = best(
        (row for row in rows if row[headline] is not None), key=lambda row: row[headline]["mean"]
    )["arm"]
    summary["finding"] = plan.finding(summary) if plan.finding else _default_finding(summary)
    return summary


def _compared(a: list[float | None], b: list[float | None], held_out_ratio: float | None) -> Difference:
    """a - b, paired by seed (fold) when both have every value, else Welch's."""
    if None not in a and None not in b:
        return difference(a, b, paired=True, held_out_ratio=held_out_ratio)
    return difference([value for value in a if value is not None], [value for value in b if value is not None])


def _interval_note(replicate: str, seeds: int, comparisons: list[dict[str, Any]]) -> str:
    """One sentence for the report: which intervals the summary holds."""
    if replicate == "fold":
        note = (f"intervals are 95% {NADEAU_BENGIO} intervals over {seeds} folds: the variance is "
                f"scaled by 1/{seeds} + 1/{seeds - 1} instead of 1/{seeds}, since the folds share "
                f"training data")
    else:
        note = f"intervals are 95% t-intervals over {seeds} seeds"
    methods = sorted({comparison["method"] for comparison in comparisons})
    if methods:
        note += f"; comparisons: {', '.join(methods)} (paired by {replicate} where both arms have every {replicate})"
    return note + "."


def _run_results(plan: StudyPlan, run_dir: Path) -> dict[str, Any]:
    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
    if plan.run_metrics is not None:
        metrics.update(plan.run_metrics(run_dir))
    return metrics


def _default_finding(summary: dict[str, Any]) -> str:
    headline = summary["headline_metric"]
    row = next(row for row in summary["rows"] if row["arm"] == summary["best_arm"])
    return f"{row['label']} has the best {headline}: {row[headline]['mean']:.4f} (mean of {summary['seeds']} seeds)."
