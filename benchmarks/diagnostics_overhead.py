"""What the gradient diagnostics cost: training throughput with per-layer gradient norms recorded
at every step, against the same training without them.

Two models, each trained from the same initial weights on the same batches with Adam and gradient
clipping, one epoch per measurement, the two settings interleaved so that machine noise hits both
alike: the vanishing-gradients study's LSTM (adding problem, T=50, hidden 32) and a CIFAR ResNet-20
on 8x8 digits-sized images (many small layers: the most norms per second of compute). Reported:
median samples/s of each setting and the median ratio (with / without) over pairs of
epochs run back to back; and, less noisy on a shared machine, the time of the recorder's own work
per step (two norm passes over the gradients) against the time of a training step. The issue asks for >= 0.90.

    OMP_NUM_THREADS=1 python benchmarks/diagnostics_overhead.py              # the figures in benchmarks/README.md
    python benchmarks/diagnostics_overhead.py --repeats 7 --timestep-probe   # also dL/dh_t after every epoch
    python benchmarks/diagnostics_overhead.py --device cuda
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from trainlab.config import build_config
from trainlab.data.batching import TensorBatches
from trainlab.data.synthetic_memory import adding_problem
from trainlab.diagnostics.callbacks import GradientNorms, TimestepGradientProbe
from trainlab.diagnostics.gradients import LayerGroups
from trainlab.models import ImageSpec, build_model
from trainlab.models.sequence import SequenceModel, SequenceSpec
from trainlab.pipelines.sequence import probe_timestep_gradients
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import GradientClipping
from trainlab.training.denormals import flush_denormals_to_zero
from trainlab.training.tasks import SequenceTask


def lstm_setting(samples: int):
    inputs, targets = adding_problem(samples, 50, seed=0)
    spec = SequenceSpec(2, 1, "regression", tokens=False, length=50)
    task = SequenceTask("regression", 1)
    probe = lambda model: probe_timestep_gradients(model, task, (inputs[:64], targets[:64]))
    return SequenceModel("lstm", spec, hidden_size=32), task, TensorBatches(inputs, targets, batch_size=64), probe


def resnet_setting(samples: int):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(samples, 1, 8, 8, generator=generator)
    labels = torch.randint(0, 10, (samples,), generator=generator)
    config = build_config({"task": "image-classification", "model": {"name": "resnet_cifar", "depth": 20}})
    model = build_model(config.model, ImageSpec(1, 8, 8, 10), "image-classification")
    return model, ClassificationTask(10), TensorBatches(images, labels, batch_size=64), None


def samples_per_second(model, task, batches, device, diagnostics: bool, probe) -> float:
    model = copy.deepcopy(model)
    callbacks = [GradientClipping(max_norm=1.0)]
    if diagnostics:
        recorder = GradientNorms(every=1)
        callbacks += [recorder, recorder.after_clipping]
        if probe is not None:
            callbacks.append(TimestepGradientProbe(probe))
    trainer = Trainer(model, task, torch.optim.Adam(model.parameters(), lr=1e-3), max_epochs=1,
                      callbacks=callbacks, device=device)
    started = time.perf_counter()
    trainer.fit(batches)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches.num_examples / (time.perf_counter() - started)


def recorder_cost(model, task, batches, device) -> tuple[float, float]:
    """(milliseconds of one training step, milliseconds of the recorder's work per step): the
    per-layer norms before and the global norm after clipping, timed alone on real gradients.
    Less noisy than whole epochs on a shared machine."""
    model = copy.deepcopy(model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = tuple(tensor.to(device) for tensor in next(iter(batches)))
    groups = LayerGroups.of(model)

    def step() -> None:
        loss, _, _ = task.forward(model, batch, training=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(20):
        step()
    step_ms = (time.perf_counter() - started) / 20 * 1000
    started = time.perf_counter()
    for _ in range(200):
        groups.squared_norms()
        groups.squared_norms().sum().sqrt()
    return step_ms, (time.perf_counter() - started) / 200 * 1000


def main() -> None:
    flush_denormals_to_zero()  # as `trainlab train` does before building anything
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1280, help="training examples per epoch")
    parser.add_argument("--repeats", type=int, default=9, help="epochs measured per setting")
    parser.add_argument("--timestep-probe", action="store_true", help="add dL/dh_t after each epoch (LSTM)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    for name, build in (("LSTM, adding T=50, hidden 32", lstm_setting), ("ResNet-20, 8x8 images", resnet_setting)):
        model, task, batches, probe = build(args.samples)
        probe = probe if args.timestep_probe else None
        samples_per_second(model, task, batches, device, False, None)  # warm-up
        without, with_norms, ratios = [], [], []
        for repeat in range(args.repeats):
            # Pairs in alternating order, so that a drift in machine load favours neither setting.
            order = (False, True) if repeat % 2 == 0 else (True, False)
            speeds = {flag: samples_per_second(model, task, batches, device, flag, probe) for flag in order}
            without.append(speeds[False])
            with_norms.append(speeds[True])
            ratios.append(speeds[True] / speeds[False])
        step_ms, recorder_ms = recorder_cost(model, task, batches, device)
        print(f"{name}: one training step {step_ms:.1f} ms, the recorder's work per step {recorder_ms:.3f} ms "
              f"({recorder_ms / step_ms:.1%} of a step)")
        base, measured = statistics.median(without), statistics.median(with_norms)
        print(f"{name}: without {base:,.0f} samples/s, with per-layer norms every step {measured:,.0f} "
              f"samples/s; median ratio of {args.repeats} interleaved pairs {statistics.median(ratios):.3f} "
              f"(pairs: {', '.join(f'{ratio:.3f}' for ratio in ratios)})")


if __name__ == "__main__":
    main()
