"""What a fused optimizer saves: the time of one `optimizer.step()` on the suite's networks, torch's
default (a loop over the parameters on the CPU), `foreach` (one multi-tensor op per operation) and
`fused` (one kernel for the whole update), measured in turns over the same gradients.

    python benchmarks/optimizer_step.py                # the figures in benchmarks/README.md
    python benchmarks/optimizer_step.py --optimizer sgd
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.suite.cases import CASES, make_data
from benchmarks.suite.torch_contenders import tensors_of
from benchmarks.suite.torch_models import batch_loss, build_network

VARIANTS = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def step_milliseconds(case_name: str, optimizer_class: type, repeats: int) -> dict[str, float]:
    case = CASES[case_name]
    model = build_network(case)
    batch = tuple(tensor[: case.batch_size] for tensor in tensors_of(case, make_data(case), torch.device("cpu")))
    batch_loss(case, model, batch).backward()  # gradients to step with; a tiny rate keeps weights put
    settings = {"momentum": 0.9} if optimizer_class is torch.optim.SGD else {}  # trainlab's SGD default
    optimizers = {name: optimizer_class(model.parameters(), lr=1e-9, **settings, **options)
                  for name, options in VARIANTS.items()}
    for optimizer in optimizers.values():
        optimizer.step()  # its state (moments) allocated
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name, optimizer in optimizers.items():
            started = time.perf_counter()
            optimizer.step()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd"])
    parser.add_argument("--cases", default="cnn-28,resnet20-32,bilstm-200,forecaster")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(2)
    optimizer_class = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[args.optimizer]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.optimizer}, median ms a step")
    print("| case | parameters | " + " | ".join(VARIANTS) + " | default / fused |")
    print("|---|---|" + "---|" * (len(VARIANTS) + 1))
    for name in args.cases.split(","):
        parameters = sum(parameter.numel() for parameter in build_network(CASES[name]).parameters())
        milliseconds = step_milliseconds(name, optimizer_class, args.repeats)
        cells = " | ".join(f"{milliseconds[variant]:.2f}" for variant in VARIANTS)
        print(f"| {name} | {parameters:,} | {cells} | {milliseconds['default'] / milliseconds['fused']:.1f}x |")


if __name__ == "__main__":
    main()
