"""One training run from a config: data, model, trainer and callbacks, written to a run directory.

`train_run` starts a run, `resume_run` continues an interrupted one, `evaluate_run` scores a saved
one. The CLI only parses arguments and calls these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainlab import rundir, runs
from trainlab.config import Config, to_yaml
from trainlab.diagnostics.callbacks import diagnostics_callbacks
from trainlab.errors import TrainingDiverged, TrainlabError
from trainlab.models import build_model, count_parameters
from trainlab.pipelines import Pipeline, build_pipeline
from trainlab.rundir import load_run_config, scored_checkpoint
from trainlab.training import distributed
from trainlab.training.callbacks import (
    Callback,
    Checkpointing,
    EarlyStopping,
    GradientClipping,
    HistoryCSV,
    LearningRateScheduler,
    NaNGuard,
    ProgressDisplay,
    TensorBoardLogger,
)
from trainlab.training.checkpoint import checkpoint_path, load_weights, saved_epoch
from trainlab.training.denormals import flush_denormals_to_zero
from trainlab.training.distributed import Distributed
from trainlab.training.finetune import FineTuning, lr_scales
from trainlab.training.optim import build_optimizer
from trainlab.training.precision import unsupported_reason
from trainlab.training.tasks import Task
from trainlab.training.trainer import Trainer, resolve_device


@dataclass
class Experiment:
    """Everything a run needs, built from its config before anything is written to disk."""

    config: Config
    pipeline: Pipeline  # the task's data, batches, loss and metrics
    trainer: Trainer
    distributed: Distributed | None = None  # this process's rank when torchrun started several

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run directory and prints (rank 0, or the only one)."""
        return self.distributed is None or self.distributed.is_main


def build_experiment(
    config: Config, run_dir: Path | None, quiet: bool = False, callbacks: Sequence[Callback] = (),
    distributed: Distributed | None = None,
) -> Experiment:
    """Seed, load the data, build model, optimizer, callbacks and trainer; nothing is written.

    `callbacks` are added to the run's own (a sweep's pruning callback, for instance). With
    `distributed`, ranks other than 0 get no callback that writes files and print nothing."""
    if config.train.flush_denormals:  # before torch starts its worker threads, which copy the mode
        flush_denormals_to_zero()
    runs.seed_everything(config.run.seed)
    device = distributed.device if distributed is not None else _checked_device(config)
    if device.type == "cuda" and config.run.deterministic:
        runs.use_deterministic_cuda()
    if distributed is not None and not distributed.is_main:
        run_dir, quiet = None, True
    if distributed is not None and config.finetune.unfreeze_epoch is not None:
        raise TrainlabError("finetune.unfreeze_epoch cannot be used with several processes (DDP fixes "
                            "the trained parameters when it starts); train the stages as two runs")
    pipeline = _build_pipeline_once_downloaded(config, distributed)
    if not quiet:
        runs.say(pipeline.summary())
    try:
        model = build_model(config.model, pipeline.spec, config.task)
    except ValueError as error:  # an architecture that does not fit the data
        raise TrainlabError(f"model {config.model.name}: {error}") from None
    if distributed is None:  # under DDP each rank would compute every feature: not worth it
        cached = pipeline.use_backbone_features(model, device)
        if cached and not quiet:
            runs.say(cached)
    _check_monitor(config, pipeline.task, has_val=pipeline.val_batches is not None)
    callbacks = default_callbacks(config, run_dir, quiet) + pipeline.callbacks() + list(callbacks)
    scales = None
    if config.finetune.active:
        try:
            scales = lr_scales(model, config.finetune.lr_decay)
        except ValueError as error:
            raise TrainlabError(f"finetune: {error}") from None
        callbacks.append(FineTuning(config.finetune))
    trainer = Trainer(
        model,
        pipeline.task,
        build_optimizer(model, config.optim, scales),
        max_epochs=config.train.epochs,
        callbacks=callbacks,
        device=device,
        precision=config.train.precision,
        accumulate_grad_batches=config.train.accumulate_grad_batches,
        channels_last=config.train.channels_last,
        distributed=distributed,
    )
    return Experiment(config, pipeline, trainer, distributed)


def _build_pipeline_once_downloaded(config: Config, distributed: Distributed | None) -> Pipeline:
    """The run's pipeline; under DDP rank 0 loads its data first, so that a builtin dataset is
    downloaded once, and the other ranks wait, then read it from the cache."""
    if distributed is None:
        return build_pipeline(config)
    if not distributed.is_main:
        distributed.barrier()  # until rank 0 has its data
    pipeline = build_pipeline(config)
    if distributed.is_main:
        distributed.barrier()  # lets the others go
    return pipeline


def _checked_device(config: Config) -> torch.device:
    device = resolve_device(config.train.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainlabError(f"train.device={config.train.device} but no CUDA GPU is available")
    unsupported = unsupported_reason(config.train.precision, device)
    if unsupported is not None:
        raise TrainlabError(f"train.precision={config.train.precision}: {unsupported}; use train.precision=32")
    return device


def _join_processes(config: Config) -> Distributed | None:
    """This process's rank when torchrun started several (the process group joined), else None."""
    if not distributed.launched_with_several_processes():
        return None
    return distributed.start(_checked_device(config))


def _check_monitor(config: Config, task: Task, has_val: bool) -> None:
    available = [f"train_{name}" for name in task.train_metric_names]
    if has_val:
        available += [f"val_{name}" for name in task.metric_names]
    if config.train.monitor not in available:
        why = "" if has_val or not config.train.monitor.startswith("val_") else (
            " (there is no validation split: data.val_fraction is 0)"
        )
        raise TrainlabError(
            f"train.monitor '{config.train.monitor}' is not a metric of this run{why}; "
            f"choose one of {', '.join(available)}"
        )


def default_callbacks(config: Config, run_dir: Path | None, quiet: bool) -> list[Callback]:
    train = config.train
    monitor, mode = train.monitor, train.monitor_mode
    callbacks: list[Callback] = [
        NaNGuard(),
        LearningRateScheduler(config.optim.schedule, monitor, mode, reference_lr=config.optim.lr),
        EarlyStopping(
            monitor,
            mode,
            patience=train.early_stopping.patience,
            min_delta=train.early_stopping.min_delta,
            restore_best_weights=train.restore_best,
        ),
        ProgressDisplay(quiet=quiet),
    ]
    if train.grad_clip_norm is not None or train.grad_clip_value is not None:
        callbacks.append(GradientClipping(train.grad_clip_norm, train.grad_clip_value))
    if run_dir is not None:
        callbacks.append(HistoryCSV(run_dir / rundir.HISTORY_FILE))
        callbacks.append(Checkpointing(run_dir / rundir.CHECKPOINTS_DIR, monitor, mode))
        if config.log.tensorboard:
            callbacks.append(TensorBoardLogger(run_dir / rundir.TENSORBOARD_DIR, config.log.tensorboard_every_steps))
    # Any task's per-layer gradient norms and spectra; a task's own copies of these stand down.
    callbacks += diagnostics_callbacks(config.diagnostics, run_dir)
    return callbacks


def train_run(
    config: Config, run_dir: str | os.PathLike, overwrite: bool = False, quiet: bool = False,
    callbacks: Sequence[Callback] = (), prepare: Callable[[Experiment], None] | None = None,
) -> dict:
    """Train from scratch into `run_dir`; returns the final metrics (also in metrics.json).

    `prepare(experiment)` is called once the experiment is built, before anything is written or
    trained (a study holds out its fold there, or adds callbacks that need the model).
    Under torchrun with several processes every rank trains and rank 0 alone writes `run_dir`;
    the other ranks return an empty dict."""
    run_dir = Path(run_dir)
    if distributed.rank_from_environment() == 0:
        rundir.check_run_dir(run_dir, overwrite)  # before the data loads: fail fast
    ranks = _join_processes(config)
    try:
        # In a function of its own, so that the model (its DDP wrapper) is gone before the process
        # group is destroyed.
        return _train_from_scratch(config, run_dir, overwrite, quiet, callbacks, ranks, prepare)
    finally:
        if ranks is not None:
            distributed.stop()


def _train_from_scratch(
    config: Config, run_dir: Path, overwrite: bool, quiet: bool, callbacks: Sequence[Callback],
    ranks: Distributed | None, prepare: Callable[[Experiment], None] | None,
) -> dict:
    experiment = build_experiment(config, run_dir, quiet, callbacks, ranks)
    if prepare is not None:
        prepare(experiment)
    if experiment.is_main:
        rundir.prepare_run_dir(run_dir, overwrite)
        runs.atomic_write_text(run_dir / rundir.CONFIG_FILE, to_yaml(config))
        environment = runs.capture_environment(config.run.seed, experiment.trainer.device)
        if ranks is not None:
            environment["world_size"] = ranks.world_size
        runs.write_json(run_dir / rundir.ENV_FILE, environment)
        runs.write_json(run_dir / rundir.DATA_FILE, experiment.pipeline.info)
        experiment.pipeline.save_artifacts(run_dir)
    return _fit_and_finish(experiment, run_dir, resume_from=None)


def resume_run(run_dir: str | os.PathLike, quiet: bool = False) -> dict:
    """Continue an interrupted run from its last checkpoint (or from the start if it has none)."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if rundir.is_complete(run_dir):
        raise TrainlabError(f"run '{run_dir}' is already complete ({rundir.METRICS_FILE} exists)")
    ranks = _join_processes(config)
    try:
        return _resume(config, run_dir, quiet, ranks)
    finally:
        if ranks is not None:
            distributed.stop()


def _resume(config: Config, run_dir: Path, quiet: bool, ranks: Distributed | None) -> dict:
    experiment = build_experiment(config, run_dir, quiet, distributed=ranks)
    last = checkpoint_path(run_dir / rundir.CHECKPOINTS_DIR / "last")
    if not experiment.is_main:  # every rank restores the checkpoint; rank 0 alone writes
        return _fit_and_finish(experiment, run_dir, resume_from=last)
    environment_path = run_dir / rundir.ENV_FILE
    environment = rundir.read_json(environment_path) if environment_path.is_file() else {}
    resumed = runs.capture_environment(config.run.seed, experiment.trainer.device)
    environment.setdefault("resumed", []).append(
        {"command": resumed["command"], "started": resumed["started"], "from_checkpoint": str(last)}
    )
    runs.write_json(environment_path, environment)
    if not (run_dir / rundir.DATA_FILE).is_file():
        # Killed before the data was described: the files a finished run's readers need (predict,
        # figures) are written now, as train_run would have, from the same config and data.
        runs.write_json(run_dir / rundir.DATA_FILE, experiment.pipeline.info)
        experiment.pipeline.save_artifacts(run_dir)
    if not quiet:
        where = f"epoch {saved_epoch(last)}" if last else "the start (no checkpoint yet)"
        runs.say(f"resuming {run_dir} from {where}")
    return _fit_and_finish(experiment, run_dir, resume_from=last)


def _fit_and_finish(experiment: Experiment, run_dir: Path, resume_from: Path | None) -> dict:
    trainer, pipeline = experiment.trainer, experiment.pipeline
    state = trainer.fit(pipeline.train_batches, pipeline.val_batches, resume_from=resume_from)
    if not experiment.is_main:
        return {}  # the ranks hold the same weights: rank 0 evaluates and writes them
    if state.diverged:
        last = checkpoint_path(run_dir / rundir.CHECKPOINTS_DIR / "last")
        kept = f"the last good checkpoint (epoch {state.epoch}) is {last}" if last else "no epoch completed"
        raise TrainingDiverged(f"{state.stop_reason}; {kept}")
    # EarlyStopping has restored the best weights (train.restore_best) by now.
    results = {"test": trainer.evaluate(pipeline.test_batches)}
    if pipeline.val_batches is not None:
        results["val"] = trainer.evaluate(pipeline.val_batches)
    extra = pipeline.finish(trainer.model, results, run_dir)
    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        metrics.update(_prefixed(split, results.get(split, {})))
    metrics.update(extra)
    seconds = sum(row["seconds"] for row in state.history)
    early_stopping = next(cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping))
    metrics.update(
        {
            "epochs": state.epoch,
            "best_epoch": early_stopping.best_epoch,
            "stopped_early": early_stopping.stopped_epoch is not None,
            "params": count_parameters(trainer.model),
            "train_seconds": seconds,
            "samples_per_second": pipeline.train_batches.num_examples * state.epoch / seconds,
        }
    )
    runs.write_json(run_dir / rundir.METRICS_FILE, metrics)  # last: marks the run complete
    return metrics


def _prefixed(prefix: str, results: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{key}": value for key, value in results.items()}


def evaluate_run(run_dir: str | os.PathLike, quiet: bool = False) -> dict:
    """Test metrics of a run's saved weights, the same ones its metrics.json was computed with."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    experiment = build_experiment(config, run_dir=None, quiet=quiet)
    load_weights(experiment.trainer.model, scored_checkpoint(run_dir, config))
    results = experiment.trainer.evaluate(experiment.pipeline.test_batches)
    return _prefixed("test", experiment.pipeline.scored_test(experiment.trainer.model, results))
