"""Generation: each sampling control checked by hand, the draws checked against the softmax they
should follow (chi-square, fixed seed), and whole generations with a model whose next token is
known: same seed same text, top-k=1 is greedy, stop strings, unknown prompt characters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from torch import nn

from trainlab.data.tokenizers import CharTokenizer, TextEncoder, Vocabulary
from trainlab.errors import TrainlabError
from trainlab.generation import (
    SamplingSettings,
    apply_repetition_penalty,
    filter_top_k,
    filter_top_p,
    generate,
    next_token,
    samples_by_temperature,
)
from trainlab.models.language_model import LanguageModelSpec, RecurrentLanguageModel


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = torch.tensor([2.0, -2.0, 1.0, -1.0], dtype=torch.float64)
    penalized = apply_repetition_penalty(logits, torch.tensor([0, 1]), 2.0)
    assert penalized.tolist() == [1.0, -4.0, 1.0, -1.0]  # both seen tokens became less likely
    assert logits.tolist() == [2.0, -2.0, 1.0, -1.0]  # the input is left alone


def test_top_k_keeps_the_k_largest_and_the_lower_id_among_ties():
    logits = torch.tensor([1.0, 3.0, 2.0, 3.0])
    assert torch.isfinite(filter_top_k(logits, 2)).tolist() == [False, True, False, True]
    assert torch.isfinite(filter_top_k(logits, 1)).tolist() == [False, True, False, False]
    assert torch.equal(filter_top_k(logits, 4), logits)


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    probabilities = torch.tensor([0.15, 0.5, 0.05, 0.3], dtype=torch.float64)
    logits = probabilities.log()
    # Sorted: 0.5 (id 1), 0.3 (id 3), 0.15 (id 0), 0.05 (id 2); cumulative 0.5, 0.8, 0.95, 1.0.
    assert torch.isfinite(filter_top_p(logits, 0.4)).tolist() == [False, True, False, False]
    assert torch.isfinite(filter_top_p(logits, 0.75)).tolist() == [False, True, False, True]
    assert torch.isfinite(filter_top_p(logits, 0.9)).tolist() == [True, True, False, True]
    assert torch.equal(filter_top_p(logits, 1.0), logits)


def test_penalty_comes_before_temperature_and_temperature_zero_is_greedy():
    logits = torch.tensor([2.0, 1.5, -1.0])
    generator = torch.Generator().manual_seed(0)
    assert next_token(logits, SamplingSettings(temperature=0), generator) == 0
    penalized = SamplingSettings(temperature=0, repetition_penalty=2.0)
    assert next_token(logits, penalized, generator, seen=torch.tensor([0])) == 1  # 2.0 / 2 < 1.5


def draw_counts(logits: torch.Tensor, settings: SamplingSettings, draws: int, seed: int,
                seen: torch.Tensor | None = None) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    tokens = [next_token(logits, settings, generator, seen) for _ in range(draws)]
    return np.bincount(tokens, minlength=len(logits)).astype(np.float64)


def softmax(values: np.ndarray) -> np.ndarray:
    exponentials = np.exp(values - values.max())
    return exponentials / exponentials.sum()


def chi_square_pvalue(counts: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson's test of the counts against `probabilities` (tokens of probability 0 must not occur
    and are left out); tokens expected fewer than 5 times are pooled into one cell, as the test
    needs."""
    support = probabilities > 0
    assert counts[~support].sum() == 0, f"drawn outside the support: {counts[~support]}"
    counts, expected = counts[support], probabilities[support] * counts.sum()
    rare = expected < 5
    if rare.sum() > 0:
        counts = np.append(counts[~rare], counts[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    return float(chisquare(counts, expected).pvalue)


LOGITS = np.array([1.0, 0.2, -0.5, 2.0, 0.0, -2.0])  # the smallest share at temperature 1 is ~1.0%


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_follow_the_full_tempered_softmax(temperature):
    draws = 4000
    counts = draw_counts(torch.tensor(LOGITS), SamplingSettings(temperature=temperature), draws, seed=1)
    assert chi_square_pvalue(counts, softmax(LOGITS / temperature)) > 0.01
    # The same draws tell the neighbouring mistakes apart: no temperature, temperature multiplied in.
    for wrong in {1.0, 1 / temperature} - {temperature}:
        assert chi_square_pvalue(counts, softmax(LOGITS / wrong)) < 1e-6, wrong
    if temperature >= 1:
        assert (counts > 0).all()  # a 1% token is drawn ~40 times in 4000: nothing is cut off


def test_top_k_samples_renormalised_among_the_kept_tokens():
    logits = np.array([1.0, 0.2, -0.5, 2.0])
    counts = draw_counts(torch.tensor(logits), SamplingSettings(top_k=2), 3000, seed=2)
    expected = np.zeros(4)
    expected[[0, 3]] = softmax(logits[[0, 3]])  # ids 3 and 0 are the two largest
    assert chi_square_pvalue(counts, expected) > 0.01


def test_top_p_is_taken_on_the_tempered_probabilities():
    logits = np.log([0.5, 0.3, 0.15, 0.05])
    # At temperature 1 the cumulative shares are 0.5, 0.8: top-p 0.75 keeps ids 0 and 1. At
    # temperature 2 the shares become sqrt(p) / sum sqrt(p) = 0.379, 0.294, 0.207, 0.120, whose
    # cumulative 0.379, 0.673, 0.880 first reaches 0.75 at id 2: ids 0, 1 and 2 are kept.
    kept = np.sqrt([0.5, 0.3, 0.15, 0.0])
    counts = draw_counts(torch.tensor(logits), SamplingSettings(temperature=2.0, top_p=0.75), 3000, seed=4)
    assert counts[3] == 0 and counts[2] > 0
    assert chi_square_pvalue(counts, kept / kept.sum()) > 0.01
    plain = draw_counts(torch.tensor(logits), SamplingSettings(top_p=0.75), 3000, seed=4)
    assert chi_square_pvalue(plain, np.array([0.5, 0.3, 0, 0]) / 0.8) > 0.01


def test_every_control_together_follows_the_distribution_computed_by_hand():
    """Penalty, then temperature, then top-k, then top-p, then the softmax of what is left."""
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])
    settings = SamplingSettings(temperature=2.0, top_k=4, top_p=0.8, repetition_penalty=2.0)
    # Token 0 was seen: 2.0 / 2 = 1.0. Divided by 2: [0.5, 0.5, 0.25, -0.5, 0.0]. Top-4 drops id 3.
    # Softmax of the four left: e^.5, e^.5, e^.25, e^0 over their sum 5.5814 = 0.295, 0.295, 0.230,
    # 0.179; the mass before each in that order 0, 0.295, 0.591, 0.821: top-p 0.8 drops id 4.
    kept = np.exp([0.5, 0.5, 0.25, -np.inf, -np.inf])
    counts = draw_counts(logits, settings, 3000, seed=5, seen=torch.tensor([0, 0]))
    assert counts[3] == counts[4] == 0
    assert chi_square_pvalue(counts, kept / kept.sum()) > 0.01
    # Without the penalty token 0 would lead (e^1 against e^0.5): the draws say it did not.
    unpenalised = np.exp([1.0, 0.5, 0.25, -np.inf, -np.inf])
    assert chi_square_pvalue(counts, unpenalised / unpenalised.sum()) < 1e-6


def test_top_k_one_equals_greedy_on_random_logits():
    generator = torch.Generator().manual_seed(3)
    for _ in range(200):
        logits = torch.randn(11, generator=generator)
        assert next_token(logits, SamplingSettings(top_k=1), generator) == int(logits.argmax())


class NextLetterModel(nn.Module):
    """A language model whose next token is known: after id i it is sure of 2 + (i - 1) % 4 (a, b,
    c, newline, a, ...), and gives every other token a little probability."""

    def __init__(self, vocab_size: int = 6):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(5.0))
        self.vocab_size = vocab_size

    def forward(self, tokens, state=None):
        following = 2 + (tokens - 1) % 4
        logits = self.scale * nn.functional.one_hot(following, self.vocab_size).float()
        return logits, state


@pytest.fixture
def letters() -> TextEncoder:
    return TextEncoder(CharTokenizer(), Vocabulary(["<pad>", "<unk>", "a", "b", "c", "\n"]))


def test_greedy_follows_the_model_and_the_stop_string_ends_before_itself(letters):
    model = NextLetterModel()
    greedy = SamplingSettings(temperature=0)
    assert generate(model, letters, "a", 6, greedy) == "bc\nabc"
    assert generate(model, letters, "a", 50, greedy, stop="\n") == "bc"
    assert generate(model, letters, "a", 50, greedy, stop="\nab") == "bc"
    assert generate(model, letters, "a", 0, greedy) == ""
    assert generate(model, letters, "", 3, greedy) == "abc"  # an empty prompt starts a new line


def test_unknown_prompt_characters_become_unk_with_a_warning(letters):
    model = NextLetterModel()
    with pytest.warns(UserWarning, match=r"1 token\(s\) the model never saw in training \('z'\)"):
        text = generate(model, letters, "az", 2, SamplingSettings(temperature=0))
    assert text == "ab"  # <unk> (id 1) is followed by a, as the model says


@pytest.fixture
def small_model() -> RecurrentLanguageModel:
    torch.manual_seed(0)
    return RecurrentLanguageModel(LanguageModelSpec(6).vocab_size, "lstm", 8, 8, layers=2)


def test_same_seed_same_text_and_top_k_one_is_greedy(small_model, letters):
    sampled = SamplingSettings(temperature=1.0, top_p=0.95, repetition_penalty=1.3)
    first = generate(small_model, letters, "ab", 40, sampled, seed=7)
    assert first == generate(small_model, letters, "ab", 40, sampled, seed=7)
    others = {generate(small_model, letters, "ab", 40, sampled, seed=seed) for seed in range(8, 12)}
    assert others != {first}
    greedy = generate(small_model, letters, "ab", 40, SamplingSettings(temperature=0))
    assert generate(small_model, letters, "ab", 40, SamplingSettings(top_k=1), seed=3) == greedy
    assert small_model.training  # generate switches to eval and back


def test_samples_by_temperature_lists_each_temperature(small_model, letters):
    samples = samples_by_temperature(small_model, letters, "ab", temperatures=(0.0, 1.0, 1.5),
                                     max_new_tokens=12, seed=4)
    assert [sample["temperature"] for sample in samples["samples"]] == [0.0, 1.0, 1.5]
    assert (samples["prompt"], samples["seed"], samples["max_new_tokens"]) == ("ab", 4, 12)
    for sample in samples["samples"]:  # each text is that temperature's own generation, same seed
        settings = SamplingSettings(temperature=sample["temperature"])
        assert sample["text"] == generate(small_model, letters, "ab", 12, settings, seed=4)
    assert len({sample["text"] for sample in samples["samples"]}) == 3


@pytest.mark.parametrize(("settings", "message"), [
    ({"temperature": -1}, "temperature (-1) must be >= 0 (0 is greedy)"),
    ({"top_k": 0}, "top-k (0) must be >= 1 (leave it out to keep every token)"),
    ({"top_p": 0.0}, "top-p (0.0) must lie in (0, 1] (1 keeps every token)"),
    ({"repetition_penalty": 0}, "repetition penalty (0) must be > 0 (1 is none)"),
])
def test_bad_settings_are_one_line_errors(settings, message):
    with pytest.raises(TrainlabError) as error:
        SamplingSettings(**settings)
    assert str(error.value) == message
