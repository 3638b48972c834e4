"""Recurrent forecasters: shapes, gradients, strategies, normalisation, teacher forcing, a sine wave."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from trainlab import registry
from trainlab.data.windows import StandardScaler, make_windows
from trainlab.models import SeriesSpec, build_model
from trainlab.models.forecast import RecurrentForecaster, window_forecaster

# Two targets and three covariates per step; a horizon of 4 catches hard-coded single steps.
SPEC = SeriesSpec(input_features=5, target_features=2, window=6, horizon=4)
CELLS = ["rnn", "lstm", "gru"]
STRATEGIES = ["direct", "recursive", "seq2seq"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: extra threads only contend for the shared cores (a 10x slowdown seen on 2)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def build(cell: str, spec: SeriesSpec = SPEC, **options) -> RecurrentForecaster:
    config = registry.models.entry(cell, "forecast").config_class(hidden_size=8, **options)
    return build_model(config, spec, task="forecast")


def windows(batch: int = 3, spec: SeriesSpec = SPEC, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch, spec.window, spec.input_features, generator=generator)
    targets = torch.randn(batch, spec.horizon, spec.target_features, generator=generator)
    return inputs, targets


def test_each_cell_is_registered_for_forecasting_with_its_own_config():
    for cell in CELLS:
        entry = registry.models.entry(cell, "forecast")
        assert entry.task == "forecast" and entry.config_class().name == cell
        assert entry.summary  # the builder's docstring


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("cell", CELLS)
def test_shapes_with_multivariate_targets_and_covariates(cell, strategy):
    torch.manual_seed(0)
    model = build(cell, strategy=strategy, layers=2, dropout=0.1, teacher_forcing="scheduled")
    inputs, targets = windows()
    assert model(inputs).shape == (3, 4, 2)
    assert model(inputs, targets).shape == (3, 4, 2)
    assert model.forward_features(inputs).shape == (3, 8)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("cell", CELLS)
def test_every_parameter_gets_a_finite_gradient(cell, strategy):
    torch.manual_seed(0)
    model = build(cell, strategy=strategy, layers=2, normalization="revin", teacher_forcing="never")
    inputs, targets = windows()
    F.mse_loss(model(inputs), targets).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{cell}/{strategy}: {name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{cell}/{strategy}: {name} has a non-finite gradient"


@pytest.mark.parametrize("normalization", ["none", "last", "revin"])
def test_recursive_is_the_direct_one_step_model_fed_back(normalization):
    torch.manual_seed(0)
    one_step = SeriesSpec(5, 2, window=6, horizon=1)
    direct = build("gru", one_step, strategy="direct", normalization=normalization).eval()
    recursive = build("gru", one_step, strategy="recursive", normalization=normalization).eval()
    recursive.load_state_dict(direct.state_dict())  # same parameter names and shapes at horizon 1
    inputs, _ = windows(spec=one_step)
    assert torch.equal(recursive(inputs), direct(inputs))
    # At a longer horizon, the first step is still that one-step forecast.
    longer = build("gru", SPEC, strategy="recursive", normalization=normalization).eval()
    longer.load_state_dict(direct.state_dict())
    assert torch.allclose(longer(inputs)[:, :1], direct(inputs), atol=1e-6)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_last_value_normalisation_shifts_the_forecast_with_the_level(strategy):
    torch.manual_seed(0)
    model = build("lstm", strategy=strategy, normalization="last", teacher_forcing="always").double().eval()
    inputs, targets = (tensor.double() for tensor in windows())
    shift = torch.tensor([7.5, -3.0], dtype=torch.float64)  # one constant per target column
    shifted_inputs = inputs.clone()
    shifted_inputs[..., :2] += shift  # the targets move, the covariates do not
    for teacher in (None, targets):
        shifted_teacher = None if teacher is None else teacher + shift
        expected = model(inputs, teacher) + shift
        torch.testing.assert_close(model(shifted_inputs, shifted_teacher), expected, rtol=0, atol=1e-10)
    # Without normalisation the same shift changes more than the level.
    plain = build("lstm", strategy=strategy).double().eval()
    assert not torch.allclose(plain(shifted_inputs), plain(inputs) + shift, atol=1e-3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_revin_forecast_follows_an_affine_change_of_the_targets(strategy):
    torch.manual_seed(0)
    model = build("gru", strategy=strategy, normalization="revin").double().eval()
    with torch.no_grad():  # a non-trivial affine map, to check it is undone exactly
        model.normalization.weight.copy_(torch.tensor([1.5, 0.5]))
        model.normalization.bias.copy_(torch.tensor([0.2, -0.1]))
    inputs, _ = (tensor.double() for tensor in windows())
    scale = torch.tensor([3.0, 0.5], dtype=torch.float64)
    offset = torch.tensor([10.0, -2.0], dtype=torch.float64)
    changed = inputs.clone()
    changed[..., :2] = inputs[..., :2] * scale + offset
    # Only RevIN's eps (added to the variance) keeps this from being exact.
    torch.testing.assert_close(model(changed), model(inputs) * scale + offset, rtol=0, atol=1e-4)


@pytest.mark.parametrize("strategy", ["recursive", "seq2seq"])
def test_teacher_forcing_feeds_the_targets(strategy):
    torch.manual_seed(0)
    model = build("lstm", strategy=strategy, teacher_forcing="always").eval()
    inputs, targets = windows()
    other = targets + 1.0
    forced, forced_other = model(inputs, targets), model(inputs, other)
    assert torch.equal(forced[:, 0], forced_other[:, 0])  # step 1 precedes every target
    assert not torch.allclose(forced[:, 1:], forced_other[:, 1:])  # later steps read the targets

    model.teacher_forcing = "never"
    free = model(inputs)
    assert torch.equal(model(inputs, targets), free) and torch.equal(model(inputs, other), free)

    # Scheduled sampling at ratio 1 (the step-by-step loop) equals "always" (one RNN call).
    model.teacher_forcing = "scheduled"
    model.set_epoch(0)
    assert model.teacher_forcing_ratio == 1.0
    torch.testing.assert_close(model(inputs, targets), forced)
    model.teacher_forcing_ratio = 0.0
    torch.testing.assert_close(model(inputs, targets), free)


def decoded_by_hand(model: RecurrentForecaster, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Teacher forcing run one step at a time with the model's own layers (no normalisation): step
    h + 1 reads the true target of step h; step 1 reads the last observed target (seq2seq) or
    follows straight from the encoder (recursive)."""
    k = model.target_features
    outputs, state = model.encoder(inputs)
    if model.strategy == "seq2seq":
        previous, predictions = inputs[:, -1, :k], []
        for step in range(model.horizon):
            output, state = model.decoder(previous[:, None], state)
            predictions.append(model.head(output[:, -1]))
            previous = targets[:, step]
    else:
        covariates, predictions = inputs[:, -1, k:], [model.head(outputs[:, -1])]
        for step in range(1, model.horizon):
            output, state = model.encoder(torch.cat([targets[:, step - 1], covariates], dim=-1)[:, None], state)
            predictions.append(model.head(output[:, -1]))
    return torch.stack(predictions, dim=1)


@pytest.mark.parametrize("teacher_forcing", ["always", "scheduled"])
@pytest.mark.parametrize("strategy", ["recursive", "seq2seq"])
def test_step_h_reads_the_true_target_of_the_step_before(strategy, teacher_forcing):
    torch.manual_seed(0)
    model = build("lstm", strategy=strategy, layers=2, teacher_forcing=teacher_forcing).double().eval()
    model.set_epoch(0)  # scheduled: ratio 1, the step-by-step loop; always: one call over the targets
    inputs, targets = (tensor.double() for tensor in windows())
    forced = model(inputs, targets)
    with torch.no_grad():
        torch.testing.assert_close(forced, decoded_by_hand(model, inputs, targets), rtol=0, atol=1e-12)
    # Changing the target of step h alone changes step h + 1 on, never step h or before (a model
    # fed its own step's target would see it at step h; the last target is never read).
    for step in range(SPEC.horizon):
        changed = targets.clone()
        changed[:, step] += torch.tensor([5.0, -3.0], dtype=torch.float64)
        moved = (model(inputs, changed) - forced).abs().amax(dim=(0, 2))  # (horizon,)
        assert moved[: step + 1].tolist() == [0.0] * (step + 1), (step, moved.tolist())
        if step + 1 < SPEC.horizon:
            assert moved[step + 1] > 1e-3, (step, moved.tolist())


def test_scheduled_ratio_decays_per_epoch_and_mixes_the_two_inputs():
    torch.manual_seed(0)
    model = build(
        "gru",
        strategy="seq2seq",
        teacher_forcing="scheduled",
        teacher_forcing_ratio=0.8,
        teacher_forcing_decay=0.5,
    ).eval()
    model.set_epoch(2)
    assert model.teacher_forcing_ratio == pytest.approx(0.8 * 0.5**2)
    assert model.current_teacher_forcing_ratio() == pytest.approx(0.2)
    model.teacher_forcing_ratio = 0.5
    inputs, targets = windows(batch=64)
    forced = build("gru", strategy="seq2seq", teacher_forcing="always").eval()
    forced.load_state_dict(model.state_dict())
    free = forced(inputs)
    mixed = model(inputs, targets)
    matches_forced = torch.isclose(mixed[:, 1], forced(inputs, targets)[:, 1]).all(dim=1)
    matches_free = torch.isclose(mixed[:, 1], free[:, 1]).all(dim=1)
    # Step 2 of each example saw either the true step 1 or its own prediction, about half each.
    assert (matches_forced | matches_free).all()
    assert 16 <= matches_forced.sum() <= 48


def test_inconsistent_sizes_are_refused():
    with pytest.raises(ValueError, match=r"target_features \(3\) must be between 1 and input_features \(2\)"):
        RecurrentForecaster("lstm", input_features=2, target_features=3, horizon=1)
    with pytest.raises(ValueError, match=r"strategy must be direct, recursive or seq2seq \(got 'beam'\)"):
        RecurrentForecaster("lstm", 1, 1, 1, strategy="beam")


def test_a_tiny_lstm_learns_a_sine_wave_one_step_ahead():
    torch.manual_seed(0)
    values = np.sin(0.3 * np.arange(300))[:, None].astype(np.float32)
    train = [torch.tensor(array) for array in make_windows(values[:200], 12, 1)]
    test = [torch.tensor(array) for array in make_windows(values[200:], 12, 1)]
    model = RecurrentForecaster("lstm", 1, 1, horizon=1, hidden_size=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(40):
        loss = F.mse_loss(model(train[0]), train[1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        test_loss = F.mse_loss(model(test[0]), test[1]).item()
    assert test_loss < 0.01, f"test MSE {test_loss:.4f} after 40 full-batch steps"


def test_window_forecaster_scales_reads_the_last_window_and_unscales():
    torch.manual_seed(0)
    spec = SeriesSpec(input_features=3, target_features=2, window=5, horizon=2)
    model = build("gru", spec)
    history = np.random.default_rng(0).normal(10, 3, size=(30, 2))
    covariates = np.random.default_rng(1).normal(size=(30, 1))
    target_scaler, covariate_scaler = StandardScaler().fit(history), StandardScaler().fit(covariates)
    forecast = window_forecaster(model, 5, target_scaler, covariate_scaler)(history, covariates=covariates)

    features = np.concatenate(
        [target_scaler.transform(history[-5:]), covariate_scaler.transform(covariates[-5:])], axis=1
    )
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(features)[None])[0].numpy()
    np.testing.assert_allclose(forecast, target_scaler.inverse_transform(expected), rtol=1e-6)
    assert forecast.shape == (2, 2)
