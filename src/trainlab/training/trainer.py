"""The training loop. Everything optional (logging, checkpoints, early stopping, schedules,
clipping, diagnostics, progress) is a callback; the task says what a batch means."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from trainlab.models.modes import evaluating
from trainlab.training.callbacks.base import Callback
from trainlab.training.checkpoint import load_callback_states, restore_checkpoint
from trainlab.training.precision import autocast, unsupported_reason
from trainlab.training.state import TrainState
from trainlab.training.tasks import Meter, Task

if TYPE_CHECKING:
    from trainlab.training.distributed import Distributed

HOOKS = (
    "on_fit_start", "on_epoch_start", "on_batch_start", "after_backward", "on_batch_end",
    "on_validation_end", "on_epoch_end", "on_fit_end",
)
def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when there is a GPU, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Fits `model` with `optimizer` on batches the `task` understands.

    Args:
        max_epochs: epochs to train, counting those of a run being resumed.
        callbacks: run in ascending `order`, then in the order given.
        precision: '32', or mixed precision: 'bf16' (CUDA, or a CPU with bfloat16 arithmetic) or
            'fp16' (CUDA, with loss scaling); training/precision.py.
        accumulate_grad_batches: sum the gradients of this many batches per optimizer step.
        channels_last: keep the model and 4-D image batches in NHWC memory order, which oneDNN
            and cuDNN convolutions prefer (the results are the same up to rounding).
        distributed: this process's rank in a torchrun launch (training/distributed.py): training
            goes through DistributedDataParallel on this rank's part of each batch, and epoch
            results are combined across ranks. None (a single process) changes nothing.
        inference_mode: evaluate under `torch.inference_mode` (no autograd bookkeeping at all);
            False evaluates under `torch.no_grad`, for a task whose evaluation needs gradients
            (it can turn them on with `torch.enable_grad()`, which inference mode forbids).
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        optimizer: torch.optim.Optimizer,
        *,
        max_epochs: int,
        callbacks: Sequence[Callback] = (),
        device: torch.device | str = "cpu",
        precision: str = "32",
        accumulate_grad_batches: int = 1,
        channels_last: bool = False,
        distributed: Distributed | None = None,
        inference_mode: bool = True,
    ):
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {max_epochs}")
        if accumulate_grad_batches < 1:
            raise ValueError(f"accumulate_grad_batches must be >= 1, got {accumulate_grad_batches}")
        self.device = torch.device(device)
        unsupported = unsupported_reason(precision, self.device)
        if unsupported is not None:
            raise ValueError(f"precision '{precision}': {unsupported}")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.task = task
        self.optimizer = optimizer
        self.max_epochs = max_epochs
        self.callbacks: list[Callback] = []
        self.add_callbacks(callbacks)
        self.precision = precision
        self.inference_mode = inference_mode
        self.accumulate_grad_batches = accumulate_grad_batches
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        self.state: TrainState | None = None
        self.distributed = distributed
        # Forward and backward go through DDP; callbacks and checkpoints see the plain model.
        self.train_model = distributed.wrap(self.model) if distributed is not None else self.model

    def add_callbacks(self, callbacks: Sequence[Callback]) -> None:
        """Add callbacks before `fit` (a study's measurements beside the run's own), in `order`."""
        self.callbacks = sorted([*self.callbacks, *callbacks], key=lambda callback: callback.order)
        # Only callbacks that override a hook are called for it: less Python per batch.
        self._hooks = {
            hook: [getattr(cb, hook) for cb in self.callbacks
                   if getattr(type(cb), hook) is not getattr(Callback, hook)]
            for hook in HOOKS
        }

    def fit(
        self,
        train_batches: Iterable,
        val_batches: Iterable | None = None,
        resume_from: Path | None = None,
    ) -> TrainState:
        """Train until `max_epochs` or a callback stops; with `resume_from`, continue a checkpoint."""
        if self.distributed is not None:
            train_batches = self.distributed.shard(train_batches, training=True)
            if val_batches is not None:
                val_batches = self.distributed.shard(val_batches, training=False)
        steps_per_epoch = math.ceil(len(train_batches) / self.accumulate_grad_batches)
        state = self.state = TrainState(
            self.model, self.optimizer, self.max_epochs, steps_per_epoch,
            callbacks=self.callbacks, scaler=self.scaler,
        )
        callback_states = restore_checkpoint(resume_from, state) if resume_from else None
        self._emit("on_fit_start")
        if callback_states is not None:
            # Ranks other than 0 lack the callbacks that write files: match the rest by type.
            load_callback_states(state, callback_states,
                                 by_type=self.distributed is not None and not self.distributed.is_main)
        while state.epoch < state.max_epochs and not state.should_stop:
            started = time.perf_counter()
            self._train_epoch(train_batches)
            if state.diverged:
                break
            if val_batches is not None:
                meter = self._evaluated_meter(val_batches)
                if self.distributed is not None:
                    self.distributed.combine_meter(meter)  # every rank scores the whole split
                results = meter.compute()
                state.logs.update({f"val_{k}": v for k, v in results.items() if _is_scalar(v)})
                self._emit("on_validation_end")
            state.logs["seconds"] = time.perf_counter() - started
            state.epoch += 1
            state.history.append(dict(state.logs))
            self._emit("on_epoch_end")
            if self.distributed is not None:
                self.distributed.agree_to_stop(state)  # no rank may train on while another stops
        self._emit("on_fit_end")
        return state

    def _train_epoch(self, train_batches: Iterable) -> None:
        state = self.state
        state.logs = {"epoch": state.epoch + 1}
        if hasattr(train_batches, "set_epoch"):
            train_batches.set_epoch(state.epoch)
        self.model.train()
        meter = self.task.train_meter()
        state.batches_per_epoch = len(train_batches)
        last_batch = state.batches_per_epoch - 1
        self._emit("on_epoch_start")
        for state.batch_index, batch in enumerate(train_batches):
            self._emit("on_batch_start")
            batch = self._to_device(batch)
            steps = (state.batch_index + 1) % self.accumulate_grad_batches == 0 or state.batch_index == last_batch
            if self.distributed is not None:
                self._distributed_forward_backward(batch, meter, train_batches, steps)
            else:
                with self._autocast():
                    loss, outputs, targets = self.task.forward(self.model, batch, training=True)
                meter.update(loss, outputs, targets)
                state.loss = loss.detach()
                self._backward(loss if self.accumulate_grad_batches == 1 else loss / self.accumulate_grad_batches)
            if steps:
                self._optimizer_step()
            self._emit("on_batch_end")
            if state.should_stop:
                break
        state.logs["lr"] = self.optimizer.param_groups[0]["lr"]
        if self.distributed is not None:
            self.distributed.combine_meter(meter)
        state.logs.update({f"train_{k}": v for k, v in meter.compute().items()})

    def _distributed_forward_backward(
        self, batch: tuple[torch.Tensor, ...], meter: Meter, shards: Any, steps: bool
    ) -> None:
        """One rank's part of a batch. Its mean loss is weighted by the part's share of the batch
        (`shards.weight`), so DDP's average over ranks is the gradient of the whole batch."""
        # Between optimizer steps (gradient accumulation) the ranks need not exchange gradients.
        synchronised = contextlib.nullcontext() if steps else self.train_model.no_sync()
        with synchronised:
            with self._autocast():
                loss, outputs, targets = self.task.forward(self.train_model, batch, training=True)
            if shards.counted:  # not a stand-in batch given to a rank with no examples of its own
                meter.update(loss, outputs, targets)
            weighted = loss * shards.weight
            # Every rank sees the whole batch's loss, so per-batch checks (NaNGuard) agree.
            self.state.loss = self.distributed.sum(weighted.detach()) / self.distributed.world_size
            accumulated = self.accumulate_grad_batches
            self._backward(weighted if accumulated == 1 else weighted / accumulated)

    def _backward(self, loss: torch.Tensor) -> None:
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()

    def _optimizer_step(self) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)  # callbacks clip and inspect true gradients
        self._emit("after_backward")
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.step += 1

    def predict(self, batches: Iterable) -> torch.Tensor:
        """The model's outputs for `batches` of inputs (each a tuple of the model's arguments, or one
        tensor), concatenated on the CPU in float32: in eval mode, without gradients, in the
        Trainer's precision, as `evaluate` scores them."""
        outputs = []
        without_gradients = torch.inference_mode() if self.inference_mode else torch.no_grad()
        with evaluating(self.model), without_gradients:
            for batch in batches:
                batch = self._to_device(tuple(batch) if isinstance(batch, (tuple, list)) else (batch,))
                with self._autocast():
                    outputs.append(self.model(*batch).float().cpu())
        return torch.cat(outputs)

    def evaluate(self, batches: Iterable) -> dict[str, Any]:
        """The task's metrics over `batches`, in eval mode (no dropout, running BN statistics)."""
        return self._evaluated_meter(batches).compute()

    def _evaluated_meter(self, batches: Iterable) -> Meter:
        meter = self.task.eval_meter()
        without_gradients = torch.inference_mode() if self.inference_mode else torch.no_grad()
        with evaluating(self.model), without_gradients:
            for batch in batches:
                batch = self._to_device(batch)
                with self._autocast():
                    loss, outputs, targets = self.task.forward(self.model, batch, training=False)
                meter.update(loss.float(), outputs.float(), targets)
        return meter

    def _to_device(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.memory_format is torch.contiguous_format:
            return tuple(tensor.to(self.device, non_blocking=True) for tensor in batch)
        return tuple(
            tensor.to(self.device, non_blocking=True, memory_format=self.memory_format)
            if tensor.dim() == 4 else tensor.to(self.device, non_blocking=True)
            for tensor in batch
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.precision, self.device)

    def _emit(self, hook: str) -> None:
        for method in self._hooks[hook]:
            method(self.state)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float))
