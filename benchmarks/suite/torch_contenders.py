"""The torch-based contenders of a case: trainlab's Trainer, the loop of the PyTorch tutorials (a
DataLoader over a TensorDataset), and a loop that slices in-memory tensors.

Each `make_*` returns a function `epochs(n) -> seconds` that trains (or, for an inference case,
evaluates) n epochs of the case's data and waits for the device before it returns.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.suite.cases import LM_LENGTH, Case
from benchmarks.suite.torch_models import batch_loss, build_network

Epochs = Callable[[int], float]
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


def tensors_of(case: Case, data: dict[str, np.ndarray], device: torch.device) -> tuple[torch.Tensor, ...]:
    """The case's data as the tensors of one batch tuple (the LM's stream stays one tensor), on
    `device` except the text lengths, which stay on the CPU as the text pipeline keeps them."""
    names = {"cnn": ("images", "labels"), "resnet20": ("images", "labels"),
             "lstm": ("tokens", "lengths", "labels"), "bilstm": ("tokens", "lengths", "labels"),
             "char-lm": ("stream",), "forecaster": ("inputs", "targets")}[case.model]
    return tuple(torch.from_numpy(data[name]).to("cpu" if name == "lengths" else device) for name in names)


def _timed(run: Callable[[], None], device: torch.device) -> float:
    started = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST[precision])


def make_hand_loop(case: Case, data: dict, device: torch.device, precision: str, loader: str) -> Epochs:
    """`loader` "tutorial": DataLoader(TensorDataset(...), shuffle=True), as the tutorials write it;
    "sliced": a random permutation, and each batch sliced out of the in-memory tensors."""
    model = build_network(case).to(device)
    # The tutorial's dataset lives on the CPU and each batch is copied over; the slicing loop keeps
    # its tensors on the device, as an in-memory dataset can.
    tensors = tensors_of(case, data, device if loader == "sliced" else torch.device("cpu"))
    stays_on_cpu = 1 if case.model in ("lstm", "bilstm") else None  # the lengths
    if case.model == "char-lm":
        return _language_model_loop(model, tensors[0], case, device, precision)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    count = len(tensors[0])

    def host_batches():
        if loader == "tutorial":
            yield from DataLoader(TensorDataset(*tensors), batch_size=case.batch_size, shuffle=True)
            return
        order = torch.randperm(count)
        for start in range(0, count, case.batch_size):
            chosen = order[start:start + case.batch_size]
            yield tuple(tensor[chosen.to(tensor.device)] for tensor in tensors)

    def batches():
        for batch in host_batches():
            yield tuple(tensor if i == stays_on_cpu else tensor.to(device, non_blocking=True)
                        for i, tensor in enumerate(batch))

    def train_epoch() -> None:
        model.train()
        for batch in batches():
            with _autocast(device, precision):
                loss = batch_loss(case, model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    @torch.no_grad()
    def evaluate_epoch() -> None:
        model.eval()
        for batch in batches():
            with _autocast(device, precision):
                model(*batch[:-1])

    epoch = evaluate_epoch if case.mode == "inference" else train_epoch
    return lambda n: _timed(lambda: [epoch() for _ in range(n)], device)


def _language_model_loop(model, stream: torch.Tensor, case: Case, device, precision: str) -> Epochs:
    """PyTorch's word_language_model example: the text cut into batch_size columns, read
    LM_LENGTH tokens at a time, the hidden state carried over (detached)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    columns = stream[: (len(stream) - 1) // case.batch_size * case.batch_size + 1]
    width = (len(columns) - 1) // case.batch_size
    inputs = columns[:-1].view(case.batch_size, width)
    targets = columns[1:].view(case.batch_size, width)

    def epoch() -> None:
        model.train()
        state = None
        for start in range(0, width - LM_LENGTH + 1, LM_LENGTH):
            x = inputs[:, start:start + LM_LENGTH].to(device, non_blocking=True)
            y = targets[:, start:start + LM_LENGTH].to(device, non_blocking=True)
            if state is not None:
                state = tuple(part.detach() for part in state)
            with _autocast(device, precision):
                logits, state = model(x, state)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return lambda n: _timed(lambda: [epoch() for _ in range(n)], device)


def make_flushing_sliced_loop(case: Case, data: dict, device: torch.device, precision: str) -> Epochs:
    """The slicing loop with denormals flushed to zero before its model is built, as trainlab does
    (training/denormals.py): what a hand-written loop gains from that flag alone."""
    torch.set_flush_denormal(True)
    return make_hand_loop(case, data, device, precision, "sliced")


def make_trainlab(case: Case, data: dict, device: torch.device, precision: str) -> Epochs:
    """trainlab's Trainer with the callbacks and options `trainlab train` uses by default (no run
    directory: no history file or checkpoints, which the hand loops do not write either)."""
    from trainlab.config import build_config
    from trainlab.experiment import default_callbacks
    from trainlab.training.denormals import flush_denormals_to_zero
    from trainlab.training.optim import build_optimizer
    from trainlab.training.trainer import Trainer

    task_name = {"cnn": "image-classification", "resnet20": "image-classification",
                 "lstm": "text-classification", "bilstm": "text-classification",
                 "char-lm": "language-model", "forecaster": "forecast"}[case.model]
    config = build_config({"task": task_name, "train": {"monitor": "train_loss", "precision": precision}})
    if config.train.flush_denormals:  # where experiment.build_experiment sets it: before any tensor
        flush_denormals_to_zero()
    model = build_network(case)
    # On the CPU, as the pipelines keep their data; the Trainer copies each batch to the device.
    batches, task = _trainlab_batches(case, tensors_of(case, data, torch.device("cpu")))

    def epochs(n: int) -> float:
        trainer = Trainer(model, task, build_optimizer(model, config.optim), max_epochs=n,
                          callbacks=default_callbacks(config, None, quiet=True), device=device,
                          precision=precision, channels_last=config.train.channels_last)
        if case.mode == "inference":
            return _timed(lambda: [trainer.evaluate(batches) for _ in range(n)], device)
        return _timed(lambda: trainer.fit(batches), device)

    return epochs


def _trainlab_batches(case: Case, tensors: tuple[torch.Tensor, ...]):
    from trainlab.data import TensorBatches
    from trainlab.data.corpus import LanguageModelBatches
    from trainlab.data.sequence_batching import PaddedBatches
    from trainlab.training.tasks import ClassificationTask, ForecastTask, LanguageModelTask

    training = case.mode == "train"
    if case.model in ("lstm", "bilstm"):  # the text pipeline's batches: bucketed by length
        tokens, lengths, labels = tensors
        sequences = [row[:length] for row, length in zip(tokens, lengths.tolist())]
        return (PaddedBatches(sequences, labels, case.batch_size, shuffle=training, seed=0),
                ClassificationTask(2))
    if case.model == "char-lm":
        return (LanguageModelBatches(tensors[0], case.batch_size, LM_LENGTH, mode="stateful"),
                LanguageModelTask())
    batches = TensorBatches(*tensors, batch_size=case.batch_size, shuffle=training, seed=0)
    if case.model == "forecaster":
        return batches, ForecastTask(lambda values: values, [1.0])
    return batches, ClassificationTask(10)


CONTENDERS: dict[str, Callable[..., Epochs]] = {
    "trainlab": make_trainlab,
    "torch-tutorial": lambda case, data, device, precision: make_hand_loop(case, data, device, precision, "tutorial"),
    "torch-sliced": lambda case, data, device, precision: make_hand_loop(case, data, device, precision, "sliced"),
    "torch-sliced-ftz": make_flushing_sliced_loop,
}


def prepare(device: str, threads: int) -> dict:
    """Thread settings before anything runs; what the result should record about the stack."""
    torch.set_num_threads(threads)
    return {"torch": torch.__version__, "threads": torch.get_num_threads()}


def resolve_device(name: str) -> torch.device:
    return torch.device(name)


def measurements(case: Case) -> dict:
    if not torch.cuda.is_available() or not torch.cuda.max_memory_allocated():
        return {}
    return {"peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20, "gpu": torch.cuda.get_device_name()}
