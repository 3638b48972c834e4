"""Synthetic diagnostic tasks: determinism, shapes, defining properties, memoryless baselines, splits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainlab import registry
from trainlab.config import SyntheticDataConfig
from trainlab.data.synthetic import load_synthetic_source
from trainlab.data.synthetic_memory import (
    adding_memoryless_mse,
    adding_problem,
    copy_memoryless_cross_entropy,
    copy_splits,
    copy_task,
)
from trainlab.data.synthetic_polynomial import polynomial_constant_mse, polynomial_regression
from trainlab.data.synthetic_trend_sine_walk import trend_sine_walk, trend_sine_walk_splits
from trainlab.errors import TrainlabError

NAMES = ["copy", "adding", "adding-uniform", "polynomial", "trend-sine-walk"]


def build(name: str, **options) -> object:
    settings = {"num_examples": 300, "sequence_length": 30, **options}
    return registry.datasets.get(name)(SyntheticDataConfig(source=name, **settings))


def splits_of(data) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [pair for pair in (data.train, data.val, data.test) if pair is not None]


def rows(tensor: torch.Tensor) -> set[bytes]:
    return {row.tobytes() for row in tensor.reshape(len(tensor), -1).numpy()}


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_the_same_data_and_another_seed_other_data(name):
    first, again, other = build(name), build(name), build(name, split_seed=1)
    for pair, pair_again, pair_other in zip(splits_of(first), splits_of(again), splits_of(other)):
        assert torch.equal(pair[0], pair_again[0]) and torch.equal(pair[1], pair_again[1])
        assert not torch.equal(pair[0], pair_other[0])


@pytest.mark.parametrize(
    "name, input_shape, input_dtype, target_shape, target_dtype",
    [
        ("copy", (50,), torch.int64, (50,), torch.int64),  # delay 30 + 2 * 10 symbols
        ("adding", (30, 2), torch.float32, (), torch.float32),
        ("adding-uniform", (30, 2), torch.float32, (), torch.float32),
        ("polynomial", (1,), torch.float32, (), torch.float32),
        ("trend-sine-walk", (30, 1), torch.float32, (), torch.int64),
    ],
)
def test_shapes_dtypes_and_split_sizes(name, input_shape, input_dtype, target_shape, target_dtype):
    data = build(name)
    assert [len(pair[1]) for pair in splits_of(data)] == [210, 30, 60]  # 300 * (0.7, 0.1, 0.2)
    for inputs, targets in splits_of(data):
        assert tuple(inputs.shape[1:]) == input_shape and inputs.dtype == input_dtype
        assert tuple(targets.shape[1:]) == target_shape and targets.dtype == target_dtype
    task = "regression" if name == "polynomial" else "sequence-classification"
    assert registry.datasets.entry(name).task == task


def test_validation_and_test_come_from_independent_streams():
    # Equal sizes: had both splits used one stream they would be identical.
    for name in NAMES:
        data = build(name, val_fraction=0.2, test_fraction=0.2)
        assert not rows(data.val[0]) & rows(data.test[0]), name
        if name != "polynomial":  # single float32 x values may coincide; whole sequences cannot
            assert not rows(data.train[0]) & rows(data.test[0]), name
            assert not rows(data.train[0]) & rows(data.val[0]), name


def test_copy_task_targets_repeat_the_symbols_after_the_delay():
    delay, n_symbols, alphabet_size = 7, 4, 5
    inputs, targets = copy_task(6, delay, seed=0, n_symbols=n_symbols, alphabet_size=alphabet_size)
    assert inputs.shape == targets.shape == (6, delay + 2 * n_symbols)
    for sequence, target in zip(inputs.tolist(), targets.tolist()):
        symbols = sequence[:n_symbols]
        assert all(1 <= symbol <= alphabet_size for symbol in symbols)
        assert sequence[n_symbols:] == [0] * (delay - 1) + [alphabet_size + 1] + [0] * n_symbols
        assert target == [0] * (delay + n_symbols) + symbols


def test_copy_splits_never_share_a_sequence_even_when_few_exist():
    n_symbols, alphabet_size = 4, 4  # 256 possible sequences for 3,000 examples
    data = copy_splits(3000, delay=3, seed=0, n_symbols=n_symbols, alphabet_size=alphabet_size)
    train, val, test = (rows(pair[0][:, :n_symbols]) for pair in splits_of(data))
    assert not train & test and not train & val and not val & test
    # Independent streams alone would repeat sequences across splits at this size.
    streams = (copy_task(2100, 3, seed, n_symbols, alphabet_size)[0][:, :n_symbols] for seed in (1, 2))
    assert rows(next(streams)) & rows(next(streams))
    # The hash partition keeps symbols close to uniform within a split.
    frequencies = np.bincount(data.train[0][:, :n_symbols].flatten().numpy(), minlength=5)[1:] / (2100 * 4)
    assert np.allclose(frequencies, 0.25, atol=0.03)


def test_copy_memoryless_cross_entropy_matches_the_best_position_only_predictor():
    delay, n_symbols, alphabet_size = 5, 3, 4
    expected = 3 * math.log(4) / 11  # n_symbols * log(alphabet_size) / (delay + 2 * n_symbols)
    assert copy_memoryless_cross_entropy(delay, n_symbols, alphabet_size) == pytest.approx(expected)
    # Fit the best memoryless predictor (per-step target frequencies) on one sample, score another.
    _, fit_targets = copy_task(20_000, delay, 1, n_symbols, alphabet_size)
    _, test_targets = copy_task(20_000, delay, 2, n_symbols, alphabet_size)
    counts = torch.stack([torch.bincount(step, minlength=alphabet_size + 1) for step in fit_targets.T])
    log_probabilities = torch.log(counts.double() / len(fit_targets))  # (steps, classes)
    cross_entropy = -log_probabilities.gather(1, test_targets.T).mean().item()
    assert cross_entropy == pytest.approx(expected, abs=0.005)
    assert build("copy").memoryless_baseline == pytest.approx(10 * math.log(8) / 50)


def test_copy_refuses_alphabets_too_small_to_hold_out_sequences():
    with pytest.raises(TrainlabError) as error:
        build("copy", alphabet_size=1)
    assert str(error.value) == (
        "--data copy: data.alphabet_size (1) must be >= 2: one symbol leaves nothing to remember"
    )
    with pytest.raises(ValueError) as error:
        copy_splits(100, delay=3, n_symbols=3, alphabet_size=4)
    assert str(error.value) == (
        "only 64 distinct symbol sequences (`alphabet_size` ** n_symbols = 4 ** 3): too few to keep "
        "validation and test sequences out of training; raise `alphabet_size` or n_symbols"
    )


def test_uniform_adding_problem_marks_one_value_in_each_half_and_sums_them():
    length = 11
    inputs, targets = adding_problem(20, length, seed=3, variant="uniform")
    for sequence, target in zip(inputs.tolist(), targets.tolist()):
        values, markers = [step[0] for step in sequence], [step[1] for step in sequence]
        marked = [position for position, marker in enumerate(markers) if marker == 1.0]
        assert len(marked) == 2 and markers.count(0.0) == length - 2
        assert marked[0] < length // 2 <= marked[1]
        assert all(0.0 <= value < 1.0 for value in values)
        assert target == pytest.approx(values[marked[0]] + values[marked[1]], abs=1e-6)


def test_original_adding_problem_follows_hochreiter_and_schmidhuber():
    length = 24
    inputs, targets = adding_problem(200, length, seed=4, variant="original")
    for sequence, target in zip(inputs.tolist(), targets.tolist()):
        values, markers = [step[0] for step in sequence], [step[1] for step in sequence]
        marked = [position for position, marker in enumerate(markers) if marker == 1.0]
        assert len(marked) == 2 and marked[0] < 10 and marked[1] < length // 2
        assert markers[-1] == -1.0 and markers[0] == (1.0 if 0 in marked else -1.0)
        assert markers[1:-1].count(0.0) == length - 2 - len([p for p in marked if p != 0])
        if 0 in marked:
            assert values[0] == 0.0
        assert all(-1.0 <= value <= 1.0 for value in values)
        assert target == pytest.approx(values[marked[0]] + values[marked[1]], abs=1e-6)


@pytest.mark.parametrize(
    "variant, length, expected",
    [("uniform", 10, 1 / 6), ("original", 20, 0.6), ("original", 40, (2 - 0.1 - 0.9 / 19) / 3)],
)
def test_adding_memoryless_mse_matches_monte_carlo(variant, length, expected):
    assert adding_memoryless_mse(length, variant) == pytest.approx(expected)
    _, fit_targets = adding_problem(100_000, length, seed=5, variant=variant)
    inputs, test_targets = adding_problem(100_000, length, seed=6, variant=variant)
    mse = ((test_targets.double() - fit_targets.double().mean()) ** 2).mean().item()
    assert mse == pytest.approx(expected, abs=0.008)
    if variant == "original":  # the first pair is marked with probability 1/10 + 9/10 / (length/2 - 1)
        first_marked = (inputs[:, 0, 1] == 1.0).double().mean().item()
        assert first_marked == pytest.approx(0.1 + 0.9 / (length // 2 - 1), abs=0.006)


def test_polynomial_samples_the_true_curve_with_the_given_noise():
    coefficients = [1.0, -2.0, 0.0, 0.5]
    x, y = polynomial_regression(50, seed=0, noise=0.0, x_range=(0.0, 2.0), coefficients=coefficients)
    assert x.shape == (50, 1) and float(x.min()) >= 0.0 and float(x.max()) < 2.0
    reference = np.polyval(coefficients[::-1], x[:, 0].double().numpy())  # numpy wants highest first
    assert np.allclose(y.numpy(), reference, atol=1e-5)
    x, y = polynomial_regression(100_000, seed=1, noise=0.3)
    residuals = y.double().numpy() - np.sin(np.pi * x[:, 0].double().numpy())
    assert residuals.std() == pytest.approx(0.3, abs=0.005) and abs(residuals.mean()) < 0.005


@pytest.mark.parametrize(
    "x_range, coefficients", [((-1.0, 1.0), None), ((0.0, 0.7), None), ((0.0, 2.0), [1.0, -2.0, 0.0, 0.5])]
)
def test_polynomial_constant_mse_matches_monte_carlo(x_range, coefficients):
    noise = 0.2
    _, fit_y = polynomial_regression(200_000, 2, noise, x_range, coefficients)
    _, test_y = polynomial_regression(200_000, 3, noise, x_range, coefficients)
    mse = ((test_y.double() - fit_y.double().mean()) ** 2).mean().item()
    assert polynomial_constant_mse(noise, x_range, coefficients) == pytest.approx(mse, rel=0.01)
    assert build("polynomial").memoryless_baseline == pytest.approx(0.5 + 0.1**2)  # Var sin(pi x) = 1/2
    assert build("polynomial").irreducible_error == pytest.approx(0.1**2)


def test_trend_sine_walk_shapes_are_what_they_claim():
    length = 40
    inputs, labels = trend_sine_walk(300, length, seed=0, noise=0.0, normalize=False)
    series = inputs[:, :, 0].double().numpy()
    time = np.linspace(0, 1, length)
    for sequence, label in zip(series, labels.tolist()):
        slope, _ = np.polyfit(time, sequence, 1)
        line_error = np.abs(np.polyval(np.polyfit(time, sequence, 1), time) - sequence).max()
        # A sampled sine (plus a level) obeys x[t+1] + x[t-1] = c x[t] + d exactly.
        design = np.column_stack([sequence[1:-1], np.ones(length - 2)])
        fit = np.linalg.lstsq(design, sequence[2:] + sequence[:-2], rcond=None)[0]
        recurrence_error = np.abs(design @ fit - sequence[2:] - sequence[:-2]).max()
        if label == 0:
            assert line_error < 1e-5 and 0.5 - 1e-5 <= abs(slope) <= 2 + 1e-5
        elif label == 1:
            assert recurrence_error < 1e-4 and line_error > 0.1
        else:
            assert line_error > 1e-3 and recurrence_error > 1e-3
    walk_steps = np.diff(series[labels.numpy() == 2], axis=1)
    assert walk_steps.std() == pytest.approx(1 / math.sqrt(length - 1), rel=0.05)


def test_trend_sine_walk_is_balanced_normalised_and_at_chance_without_memory():
    data = trend_sine_walk_splits(3001, 25, seed=0)
    for inputs, labels in splits_of(data):
        counts = np.bincount(labels.numpy(), minlength=3)
        assert counts.max() - counts.min() <= 1
        series = inputs[:, :, 0].double().numpy()
        assert np.allclose(series.mean(axis=1), 0.0, atol=1e-5)
        assert np.allclose(series.std(axis=1), 1.0, atol=1e-4)
    # The best input-free predictor guesses one class: the training majority.
    majority = torch.bincount(data.train[1]).argmax()
    accuracy = (data.test[1] == majority).double().mean().item()
    assert accuracy == pytest.approx(data.memoryless_baseline, abs=1 / len(data.test[1]))
    assert data.memoryless_baseline == pytest.approx(1 / 3)


def test_limit_keeps_the_first_examples_of_each_split():
    full, limited = build("adding-uniform"), build("adding-uniform", limit=5)
    for pair, head in zip(splits_of(full), splits_of(limited)):
        assert torch.equal(head[0], pair[0][:5]) and torch.equal(head[1], pair[1][:5])


def test_summary_and_errors_speak_in_config_keys():
    assert build("copy").summary() == (
        "copy: train 210, val 30, test 60; inputs 50 tokens (vocabulary 10); "
        "sequence-labelling into 9 classes; memoryless cross_entropy 0.4159"
    )
    assert build("copy", val_fraction=0.0).val is None
    with pytest.raises(TrainlabError) as error:
        build("adding", sequence_length=12)
    assert str(error.value) == (
        "--data adding: data.sequence_length (12) must be >= 20 for the original adding problem"
    )
    with pytest.raises(TrainlabError) as error:
        build("trend-sine-walk", split_seed=-1)
    assert str(error.value) == "--data trend-sine-walk: data.split_seed (-1) must be >= 0"


def test_sequence_classification_source_is_a_synthetic_task_not_a_file(tmp_path):
    data = load_synthetic_source(SyntheticDataConfig(source="trend-sine-walk", num_examples=30))
    assert data.name == "trend-sine-walk" and data.classes == ["trend", "sine", "walk"]
    with pytest.raises(TrainlabError) as error:
        load_synthetic_source(SyntheticDataConfig(source=str(tmp_path)))
    assert str(error.value) == (
        f"--data {tmp_path}: sequence-classification reads no files; choose a synthetic task: "
        "adding, adding-uniform, copy, trend-sine-walk"
    )
