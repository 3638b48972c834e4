"""Mixed bf16 on a CPU with bfloat16 arithmetic: the forward pass in bf16, weights, optimizer state
and the loss in float32; refused, with the reason, where bf16 would be emulated (or for fp16)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainlab.config import build_config
from trainlab.data import TensorBatches
from trainlab.errors import TrainlabError
from trainlab.experiment import build_experiment
from trainlab.training import ClassificationTask, Trainer, precision

X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse2 avx2 avx512f avx512_bf16 amx_tile amx_bf16
"""
ARM_CPUINFO = "processor\t: 0\nFeatures\t: fp asimd aes sha2 bf16 i8mm\n"
OLD_X86_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"
NATIVE = precision.cpu_has_native_bf16()


def test_cpu_flags_are_read_for_x86_and_arm():
    assert precision.cpu_flags(X86_CPUINFO) & precision.NATIVE_BF16_FLAGS == {"avx512_bf16", "amx_bf16"}
    assert precision.cpu_flags(ARM_CPUINFO) & precision.NATIVE_BF16_FLAGS == {"bf16"}
    assert not precision.cpu_flags(OLD_X86_CPUINFO) & precision.NATIVE_BF16_FLAGS


def test_bf16_is_refused_where_it_would_be_emulated_and_fp16_without_cuda(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    raw = {"task": "image-classification", "data": {"limit": 20}, "train": {"precision": "bf16"}}
    with pytest.raises(TrainlabError, match=r"train.precision=bf16: this CPU has no bfloat16 arithmetic .* "
                                            r"emulated and slower than float32; use train.precision=32"):
        build_experiment(build_config(raw), None, quiet=True)
    with pytest.raises(TrainlabError, match=r"train.precision=fp16: fp16 needs a CUDA GPU \(device is cpu\)"):
        build_experiment(build_config({**raw, "train": {"precision": "fp16"}}), None, quiet=True)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.unsupported_reason("bf16", torch.device("cpu")) is None


def train_one_epoch(precision_name: str) -> tuple[nn.Module, torch.optim.Optimizer, list[torch.dtype], float]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))
    inputs, labels = torch.randn(256, 16), torch.randint(0, 3, (256,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    seen: list[torch.dtype] = []
    model[0].register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    trainer = Trainer(model, ClassificationTask(3), optimizer, max_epochs=1, precision=precision_name)
    trainer.fit(TensorBatches(inputs, labels, batch_size=32, shuffle=True, seed=0))
    loss = trainer.evaluate(TensorBatches(inputs, labels, batch_size=64, shuffle=False, seed=0))["loss"]
    return model, optimizer, seen, loss


@pytest.mark.skipif(not NATIVE, reason="this CPU has no bfloat16 arithmetic (AVX512-BF16, AMX or Arm BF16)")
def test_bf16_runs_the_forward_pass_in_bf16_and_keeps_weights_and_state_in_float32():
    model, optimizer, seen, loss = train_one_epoch("bf16")
    assert set(seen) == {torch.bfloat16}  # every training and evaluation forward pass
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
    moments = [value for state in optimizer.state.values() for value in state.values() if value.dim()]
    assert moments and all(moment.dtype == torch.float32 for moment in moments)
    _, _, seen_32, loss_32 = train_one_epoch("32")
    assert set(seen_32) == {torch.float32}
    # bf16 keeps 8 bits of mantissa: the same training, to within a few percent of the loss.
    assert loss == pytest.approx(loss_32, rel=0.03)
