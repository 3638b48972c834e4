"""PyTorch Lightning on the suite's cases: the same trainlab networks and losses, in a
LightningModule fed by DataLoaders over TensorDatasets, with Lightning's extras that a lean script
turns off (logger, checkpointing, progress bar, model summary) turned off. The language model reads
independent windows (Lightning has no built-in truncated BPTT)."""

from __future__ import annotations

import time

import lightning
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.suite.cases import LM_LENGTH, Case
from benchmarks.suite.torch_contenders import measurements, prepare, resolve_device, tensors_of
from benchmarks.suite.torch_models import batch_loss, build_network

__all__ = ["CONTENDERS", "measurements", "prepare", "resolve_device"]
PRECISION = {"32": "32-true", "bf16": "bf16-mixed"}


class CaseModule(lightning.LightningModule):
    def __init__(self, case: Case):
        super().__init__()
        self.case = case
        self.network = build_network(case)

    def training_step(self, batch, batch_index):
        if self.case.model == "char-lm":
            inputs, targets = batch
            logits, _ = self.network(inputs, None)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return batch_loss(self.case, self.network, batch)

    def predict_step(self, batch, batch_index):
        return self.network(*batch[:-1])

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def make_lightning(case: Case, data: dict, device: torch.device, precision: str):
    module = CaseModule(case)
    tensors = tensors_of(case, data, torch.device("cpu"))
    if case.model == "char-lm":
        stream = tensors[0]
        windows = (len(stream) - 1) // LM_LENGTH
        tensors = (stream[: windows * LM_LENGTH].view(windows, LM_LENGTH),
                   stream[1: windows * LM_LENGTH + 1].view(windows, LM_LENGTH))
    loader = DataLoader(TensorDataset(*tensors), batch_size=case.batch_size, shuffle=case.mode == "train")

    def epochs(n: int) -> float:
        trainer = lightning.Trainer(
            accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, max_epochs=n,
            precision=PRECISION[precision], logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False,
        )
        started = time.perf_counter()
        if case.mode == "inference":
            for _ in range(n):
                trainer.predict(module, loader, return_predictions=False)
        else:
            trainer.fit(module, loader)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    return epochs


CONTENDERS = {"lightning": make_lightning}
