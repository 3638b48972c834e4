"""Which precisions a device can train in: float32 everywhere, mixed bf16/fp16 on CUDA, and mixed
bf16 on a CPU that computes bfloat16 natively.

Current x86 CPUs multiply bfloat16 in hardware (AVX512-BF16 on AMD Zen 4 and Intel Cooper Lake,
AMX on Intel Sapphire Rapids), as do Arm cores with the BF16 extension. On such a CPU autocast runs
convolutions, linear layers and recurrent cells in bf16 (oneDNN) while weights, optimizer state and
loss reductions stay float32, as Keras' `mixed_bfloat16` and Lightning's `bf16-mixed` do. On a CPU
without it, bf16 is emulated in software and slower than float32, so it is refused.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# /proc/cpuinfo flags of a CPU with bfloat16 arithmetic (x86: AVX512-BF16 or AMX; Arm: BF16).
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first CPU listed in a /proc/cpuinfo text (x86 `flags`, Arm `Features`)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware, as /proc/cpuinfo says; False where there is
    no /proc/cpuinfo to ask (macOS, Windows), which keeps such machines on float32."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return False
    return bool(cpu_flags(cpuinfo.read_text(errors="replace")) & NATIVE_BF16_FLAGS)


def unsupported_reason(precision: str, device: torch.device) -> str | None:
    """Why `device` cannot train in `precision` ('32', 'bf16', 'fp16'), or None when it can."""
    if precision == "32" or device.type == "cuda":
        return None
    if device.type == "cpu" and precision == "bf16":
        if cpu_has_native_bf16():
            return None
        return ("this CPU has no bfloat16 arithmetic (AVX512-BF16, AMX or Arm BF16): bf16 would be "
                "emulated and slower than float32")
    return f"{precision} needs a CUDA GPU (device is {device})"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The forward pass's context: nothing for float32, else autocast to `precision` on `device`."""
    if precision == "32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision])
