"""Flush denormal floats to zero on the CPU: the difference between 28 and 357 BiLSTM samples/s.

A recurrent classifier reads its output at the last step only, so the gradient that flows back
through time shrinks step after step until it is denormal (below 1.2e-38 in float32). Intel CPUs
take a slow microcode path for every denormal operand: a forward and backward pass of torch's fused
LSTM (oneDNN) over 64 reviews of 200 tokens took 1,000 ms instead of 74 ms on two Sapphire Rapids
cores (benchmarks/denormals.py). Flushing (the CPU's FTZ and DAZ flags) turns those values into zeros,
which changes no result beyond float32's rounding; TensorFlow sets the same flags in its threads.

The flags belong to a thread, and a new thread copies them from the one that starts it: torch's
worker threads, started at the first parallel operation, keep the mode the process had then. So
this is called before any data or model is built (experiment.build_experiment, as `train.flush_denormals`
says), never by the Trainer or at import: it is the process's state. A notebook that builds its
own Trainer calls it first to get the same speed.
"""

from __future__ import annotations

import torch


def flush_denormals_to_zero() -> bool:
    """Set flush-to-zero for this thread and the threads it starts from now on. Returns whether the
    CPU supports it (x86 with SSE3, or ARM)."""
    return torch.set_flush_denormal(True)
