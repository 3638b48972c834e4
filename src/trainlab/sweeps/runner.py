"""One sweep worker: ask Optuna for a trial, train it as a normal run, tell Optuna the result.

Every worker that points at the same storage and study name shares the sweep: a sqlite file in the
sweep directory by default (several processes on one machine, and `trainlab sweep` run again
continues it), or any database URL Optuna accepts for workers on several machines. Trials are
counted in the database, so all the workers together run `trials` trials, however many there are.
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainlab import runs
from trainlab.config import build_config
from trainlab.errors import TrainingDiverged, TrainlabError
from trainlab.sweeps.pruning import OptunaPruning
from trainlab.sweeps.settings import SweepSettings, grid_size
from trainlab.sweeps.summary import TRIAL_FILE, counts_toward_total, trial_dir_name, write_summary

# Optuna marks a trial RUNNING until it ends; a worker killed outright never ends its trial, so
# workers beat a heartbeat and a trial silent for the grace period is failed (and not counted).
HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120
SQLITE_TIMEOUT_SECONDS = 60  # parallel workers wait for each other's writes instead of failing
STORAGE_ATTEMPTS = 5
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # which worker ran a trial, in the trials table


class _SurplusTrial(Exception):
    """Other workers already started the last of the requested trials."""


@dataclass
class SweepOutcome:
    out: Path
    ran: list[int] = field(default_factory=list)  # numbers of the trials this worker ran
    summary: dict[str, Any] | None = None  # None while other workers still run trials
    still_running: int = 0
    out_of_budget: bool = False  # stopped by budget_seconds before `trials` trials


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise TrainlabError(
            "trainlab sweep needs Optuna: pip install 'trainlab[sweep]' (or pip install optuna)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trainlab prints one line per trial
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def default_storage(out: Path) -> str:
    return f"sqlite:///{(out / 'sweep.db').resolve()}"


def open_storage(optuna: Any, url: str) -> Any:
    from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}} if url.startswith("sqlite") else {}
    attempt = 1
    while True:
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
            )
        except (IntegrityError, OperationalError) as error:
            # Workers started together race to create the tables of a new database: the loser's
            # next attempt finds them. A server that stays unreachable fails after the last one.
            if attempt == STORAGE_ATTEMPTS:
                raise TrainlabError(f"--storage '{url}': cannot open it after {attempt} attempts ({error})") from None
            time.sleep(0.2 * attempt)
            attempt += 1
        except (SQLAlchemyError, ImportError, ValueError) as error:  # a bad URL, a missing driver
            raise TrainlabError(f"--storage '{url}': cannot open it as an Optuna database ({error}); "
                                "give a URL such as sqlite:///sweep.db or postgresql://user@host/db") from None


def build_sampler(optuna: Any, settings: SweepSettings, seed: int) -> Any:
    if settings.sampler == "grid":
        grid = {parameter.key: parameter.grid_values() for parameter in settings.space}
        return optuna.samplers.GridSampler(grid, seed=seed)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: parallel workers treat each other's running trials as bad, so they spread out.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def build_pruner(optuna: Any, settings: SweepSettings) -> Any:
    if settings.pruner == "none":
        return optuna.pruners.NopPruner()
    # Optuna prunes from step n_warmup_steps on; trials report epochs 1, 2, ..., so a warm-up of k
    # epochs means the first possible prune is after epoch k + 1.
    return optuna.pruners.MedianPruner(
        n_startup_trials=settings.pruner_startup_trials, n_warmup_steps=settings.pruner_warmup_epochs + 1
    )


def run_sweep(
    settings: SweepSettings,
    trials: int,
    out: Path,
    storage: str | None = None,
    study_name: str = "sweep",
    quiet: bool = False,
    after_trial: Callable[[Path], None] | None = None,
    budget_seconds: float | None = None,
) -> SweepOutcome:
    """Run trials until the study holds `trials` of them (this worker's and others'), then write
    the summary if no other worker is still running one.

    Args:
        after_trial: called with each finished trial's run directory (the CLI draws its report).
        budget_seconds: this worker starts no trial that would, if it took as long as its longest
            trial so far, end after this many seconds from now (`trainlab tune --budget`).
    """
    if trials < 0:
        raise TrainlabError(f"--trials must be >= 0, got {trials}")
    optuna = import_optuna()
    out.mkdir(parents=True, exist_ok=True)
    storage_url = storage or default_storage(out)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(optuna, storage_url),
        sampler=build_sampler(optuna, settings, settings.seed),
        pruner=build_pruner(optuna, settings),
        direction=settings.direction,
        load_if_exists=True,
    )
    _check_same_sweep(study, settings, study_name)
    if settings.sampler == "grid" and trials > grid_size(settings):
        if not quiet:
            runs.say(f"the grid has {grid_size(settings)} points: running that many trials, not {trials}")
        trials = grid_size(settings)
    outcome = SweepOutcome(out)

    def objective(trial: Any) -> float:
        earlier = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
        if sum(map(counts_toward_total, earlier)) >= trials:
            trial.set_user_attr("outcome", "surplus")
            raise _SurplusTrial
        if settings.sampler != "grid":
            # Seeded by trial number: a sweep replays exactly, and parallel workers draw differently.
            study.sampler = build_sampler(optuna, settings, settings.seed + trial.number)
        outcome.ran.append(trial.number)
        return _run_trial(optuna, trial, settings, out, quiet, after_trial)

    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    longest = 0.0  # seconds, this worker's longest trial
    while sum(map(counts_toward_total, study.get_trials(deepcopy=False))) < trials:
        if deadline is not None and time.monotonic() + longest > deadline:
            outcome.out_of_budget = True
            break
        started = time.monotonic()
        try:
            study.optimize(objective, n_trials=1, gc_after_trial=False)
        except _SurplusTrial:
            break
        longest = max(longest, time.monotonic() - started)
    optuna.storages.fail_stale_trials(study)
    running = [t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))]
    if running:
        outcome.still_running = len(running)
        if not quiet:
            runs.say(f"trials {', '.join(map(str, running))} are still running in other workers; "
                     "the last worker to finish writes the summary")
        return outcome
    outcome.summary = write_summary(optuna, study, settings, out, storage_url, trials)
    return outcome


def _run_trial(
    optuna: Any, trial: Any, settings: SweepSettings, out: Path, quiet: bool,
    after_trial: Callable[[Path], None] | None,
) -> float:
    from trainlab.experiment import train_run

    values = {parameter.key: parameter.suggest(trial) for parameter in settings.space}
    config = build_config(settings.trial_config(values))
    run_dir = out / trial_dir_name(trial.number)
    trial.set_user_attr("run_dir", run_dir.name)
    trial.set_user_attr("worker", WORKER)
    pruning = OptunaPruning(trial, settings.metric) if settings.pruner != "none" else None
    record = {"trial": trial.number, "study": trial.study.study_name, "worker": WORKER, "params": values,
              "metric": settings.metric, "direction": settings.direction}
    try:
        # A directory left by an attempt whose database record is gone is a run directory: redo it.
        metrics = train_run(config, run_dir, overwrite=True, quiet=True,
                            callbacks=[pruning] if pruning else [])
    except TrainingDiverged as error:
        trial.set_user_attr("outcome", "diverged")
        runs.write_json(run_dir / TRIAL_FILE, {**record, "state": "FAIL", "reason": str(error)})
        _say(quiet, f"trial {trial.number}: diverged ({_shown(values)})")
        return math.nan  # Optuna records a NaN objective as a failed trial
    if settings.metric not in metrics:
        available = ", ".join(key for key in metrics if key.startswith("val_"))
        raise TrainlabError(f"sweep.metric '{settings.metric}' is not a metric of these runs; choose one of {available}")
    value = float(metrics[settings.metric])
    if after_trial is not None:
        after_trial(run_dir)
    if pruning is not None and pruning.pruned_epoch is not None:
        trial.set_user_attr("pruned_epoch", pruning.pruned_epoch)
        runs.write_json(run_dir / TRIAL_FILE, {**record, "state": "PRUNED", "pruned_epoch": pruning.pruned_epoch,
                                               "value": value})
        _say(quiet, f"trial {trial.number}: pruned after epoch {pruning.pruned_epoch}, "
                    f"{settings.metric} {value:.4g} ({_shown(values)})")
        raise optuna.TrialPruned()
    runs.write_json(run_dir / TRIAL_FILE, {**record, "state": "COMPLETE", "value": value})
    _say(quiet, f"trial {trial.number}: {settings.metric} {value:.4g} ({_shown(values)})")
    return value


def _check_same_sweep(study: Any, settings: SweepSettings, study_name: str) -> None:
    declared = settings.declaration()
    stored = study.user_attrs.get("sweep")
    if stored is None:
        study.set_user_attr("sweep", declared)
    elif stored != declared:
        raise TrainlabError(
            f"study '{study_name}' in this storage was started with another sweep declaration "
            "(metric, direction, sampler or space differ); give another --study-name or --out"
        )


def _shown(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in values.items())


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        runs.say(message)
