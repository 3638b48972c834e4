"""Learning-rate schedules as pure functions of the step, against torch's schedulers."""

from __future__ import annotations

import pytest
import torch

from trainlab.config import ScheduleConfig
from trainlab.training.schedules import scheduled_lr

BASE_LR, STEPS_PER_EPOCH, EPOCHS = 0.1, 7, 12
TOTAL = STEPS_PER_EPOCH * EPOCHS


def torch_lrs(make_scheduler, per_epoch: bool) -> list[float]:
    """The lr torch uses at every step, stepping the scheduler per epoch or per step."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for step in range(TOTAL):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if not per_epoch or (step + 1) % STEPS_PER_EPOCH == 0:
            scheduler.step()
    return lrs


def ours(schedule: ScheduleConfig) -> list[float]:
    return [scheduled_lr(schedule, BASE_LR, step, STEPS_PER_EPOCH, TOTAL) for step in range(TOTAL)]


def test_step_matches_step_lr():
    expected = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), per_epoch=True)
    assert ours(ScheduleConfig(name="step", step_size=3, gamma=0.5)) == pytest.approx(expected, rel=1e-12)


def test_multistep_matches_multistep_lr():
    expected = torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 9], gamma=0.3), per_epoch=True)
    assert ours(ScheduleConfig(name="multistep", milestones=[5, 2, 9], gamma=0.3)) == pytest.approx(expected, rel=1e-12)


def test_cosine_matches_cosine_annealing():
    expected = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=TOTAL, eta_min=0.001),
                         per_epoch=False)
    assert ours(ScheduleConfig(name="cosine", min_lr=0.001)) == pytest.approx(expected, rel=1e-9)


def test_onecycle_matches_one_cycle_lr():
    def make(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=BASE_LR, total_steps=TOTAL, pct_start=0.25, div_factor=10,
            final_div_factor=100, anneal_strategy="cos", cycle_momentum=False, three_phase=False,
        )

    schedule = ScheduleConfig(name="onecycle", pct_start=0.25, div_factor=10, final_div_factor=100)
    assert ours(schedule) == pytest.approx(torch_lrs(make, per_epoch=False), rel=1e-9)


def test_warmup_rises_linearly_to_the_base_lr_then_cosine_decays():
    lrs = ours(ScheduleConfig(name="cosine", warmup_epochs=2))
    warmup_steps = 2 * STEPS_PER_EPOCH
    assert lrs[:warmup_steps] == pytest.approx([BASE_LR * (s + 1) / warmup_steps for s in range(warmup_steps)])
    assert lrs[warmup_steps] == pytest.approx(BASE_LR)
    assert all(a >= b for a, b in zip(lrs[warmup_steps:], lrs[warmup_steps + 1:]))


def test_constant_is_constant():
    assert set(ours(ScheduleConfig(name="constant"))) == {BASE_LR}


def test_a_cosine_floor_scales_with_a_discriminative_group():
    """Fine-tuning gives the backbone a tenth of the head's rate. A floor of 0.005 (of lr 0.1) is
    the backbone's 0.0005: an absolute floor would anneal its 0.01 *up* to 0.005."""
    from types import SimpleNamespace

    from trainlab.training.callbacks.lr_scheduler import LearningRateScheduler

    head, backbone = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [head]}, {"params": [backbone], "lr": BASE_LR / 10}], lr=BASE_LR)
    callback = LearningRateScheduler(ScheduleConfig(name="cosine", min_lr=0.005), reference_lr=BASE_LR)
    state = SimpleNamespace(optimizer=optimizer, step=0, steps_per_epoch=STEPS_PER_EPOCH, total_steps=TOTAL)
    callback.on_fit_start(state)
    seen = []
    for step in range(TOTAL + 1):
        state.step = step
        callback.on_batch_start(state)
        seen.append([group["lr"] for group in optimizer.param_groups])
    head_lrs, backbone_lrs = zip(*seen)
    assert head_lrs[-1] == pytest.approx(0.005) and backbone_lrs[-1] == pytest.approx(0.0005)
    assert backbone_lrs == pytest.approx([lr / 10 for lr in head_lrs], rel=1e-12)
    assert max(backbone_lrs) == pytest.approx(BASE_LR / 10)
