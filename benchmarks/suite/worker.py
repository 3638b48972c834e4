"""One contender on one case, in a process of its own (so that its peak memory is its own):

    python -m benchmarks.suite.worker CASE CONTENDER [--device cpu] [--threads 2] [--min-seconds 2]

prints one JSON line: units per second over whole timed epochs after one warm-up epoch, the
epochs timed, peak resident memory (and peak GPU memory on CUDA), parameters and forward
multiply-adds per example where the contender can count them, or {"skipped": why}.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys

from benchmarks.suite.cases import CASES, make_data, per_epoch

# Which module serves which contender; the module is imported only when its contender runs, so
# a worker for Keras needs no torch and one for trainlab no Keras.
MODULES = {
    "trainlab": "benchmarks.suite.torch_contenders",
    "torch-tutorial": "benchmarks.suite.torch_contenders",
    "torch-sliced": "benchmarks.suite.torch_contenders",
    "torch-sliced-ftz": "benchmarks.suite.torch_contenders",
    "lightning": "benchmarks.suite.lightning_contender",
    "keras": "benchmarks.suite.keras_contender",
}
MAX_TIMED_EPOCHS = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("contender", choices=sorted(MODULES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--min-seconds", type=float, default=2.0, help="the timed epochs last at least this")
    args = parser.parse_args()
    case = CASES[args.case]
    try:
        module = __import__(MODULES[args.contender], fromlist=["CONTENDERS"])
        data = make_data(case)
    except (ImportError, FileNotFoundError) as error:
        print(json.dumps({"skipped": f"{type(error).__name__}: {error}"}))
        return
    contender = module.CONTENDERS.get(args.contender)
    if contender is None:
        print(json.dumps({"skipped": f"{args.contender} has no {case.model} model"}))
        return
    info = module.prepare(args.device, args.threads)
    epochs = contender(case, data, module.resolve_device(args.device), args.precision)
    warm = epochs(1)  # allocator, kernels, lazy imports, graph tracing
    if warm < args.min_seconds / 4:  # a fast device: the first epoch's set-up hides an epoch's time
        warm = epochs(1)
    count = max(1, min(MAX_TIMED_EPOCHS, math.ceil(args.min_seconds / warm)))
    seconds = epochs(count)
    result = {
        "per_second": per_epoch(case) * count / seconds,
        "epochs": count,
        "seconds": seconds,
        "warmup_seconds": warm,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **info,
        **module.measurements(case),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
