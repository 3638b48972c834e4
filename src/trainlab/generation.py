"""Text generation from a recurrent language model: greedy, temperature, top-k, top-p (nucleus),
repetition penalty, a stop string and a seed.

Each new token is chosen from the logits of the last step in this order:
  1. repetition penalty (CTRL, Keskar et al. 2019): the logit of every token already in the prompt
     or the generated text is divided by the penalty when positive and multiplied by it when
     negative, so a penalty > 1 always makes a seen token less likely (dividing a negative logit
     would make it more likely);
  2. temperature: temperature 0 picks the most likely token (greedy, no sampling), otherwise the
     logits are divided by it;
  3. top-k keeps the k most likely tokens, then top-p keeps the smallest set of the most likely
     ones whose probabilities add up to at least p (top_p=1.0 keeps all);
  4. one token is drawn from the softmax of what is left, with a generator seeded by `seed`, so the
     same seed gives the same text.
`<pad>` is never generated. Prompt tokens that are not in the vocabulary become `<unk>` (with a
warning). An empty prompt starts from a newline when the vocabulary has one, else from its most
frequent token; that start is not part of the returned text.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from trainlab import rundir
from trainlab.data.tokenizers import PAD_ID, UNK, TextEncoder
from trainlab.errors import TrainlabError
from trainlab.models.modes import evaluating

SAMPLE_TEMPERATURES = (0.0, 0.5, 0.8, 1.0, 1.2)
SAMPLE_TOKENS = 300
FIRST_REGULAR_ID = 2  # after <pad> and <unk>: the most frequent training token


@dataclass(frozen=True)
class SamplingSettings:
    """How each next token is chosen (see the module's docstring for the order)."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float = 1.0
    repetition_penalty: float = 1.0

    def __post_init__(self):
        if self.temperature < 0:
            raise TrainlabError(f"temperature ({self.temperature}) must be >= 0 (0 is greedy)")
        if self.top_k is not None and self.top_k < 1:
            raise TrainlabError(f"top-k ({self.top_k}) must be >= 1 (leave it out to keep every token)")
        if not 0 < self.top_p <= 1:
            raise TrainlabError(f"top-p ({self.top_p}) must lie in (0, 1] (1 keeps every token)")
        if self.repetition_penalty <= 0:
            raise TrainlabError(f"repetition penalty ({self.repetition_penalty}) must be > 0 (1 is none)")


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """logits (V,) with those of the `seen` ids divided by `penalty` where positive and multiplied
    by it where negative."""
    if penalty == 1.0 or len(seen) == 0:
        return logits
    logits = logits.clone()
    chosen = logits[seen]
    logits[seen] = torch.where(chosen > 0, chosen / penalty, chosen * penalty)
    return logits


def filter_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """logits (V,) with all but the k largest set to -inf; among equal logits the lower id is
    kept first, as argmax picks it, so top-k with k=1 is greedy."""
    if k >= len(logits):
        return logits
    order = torch.argsort(logits, descending=True, stable=True)
    filtered = torch.full_like(logits, -torch.inf)
    filtered[order[:k]] = logits[order[:k]]
    return filtered


def filter_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """logits (V,) keeping the smallest set of most likely tokens whose probabilities reach `p`
    (the token that crosses p is kept); p >= 1 keeps all of them."""
    if p >= 1.0:
        return logits  # not computed: float rounding of the cumulative sum could drop rare tokens
    order = torch.argsort(logits, descending=True, stable=True)
    probabilities = torch.softmax(logits[order].double(), dim=0)
    mass_before = torch.cumsum(probabilities, dim=0) - probabilities
    kept = order[mass_before < p]
    filtered = torch.full_like(logits, -torch.inf)
    filtered[kept] = logits[kept]
    return filtered


def next_token(
    logits: torch.Tensor,
    settings: SamplingSettings,
    generator: torch.Generator,
    seen: torch.Tensor | None = None,
) -> int:
    """The id chosen from one step's logits (V,) by `settings`, drawing with `generator`.

    Args:
        seen: (S,) ids the repetition penalty applies to (the context so far).
    """
    logits = logits.detach().double()
    if seen is not None:
        logits = apply_repetition_penalty(logits, seen.unique(), settings.repetition_penalty)
    if settings.temperature == 0:
        return int(torch.argmax(logits))
    logits = logits / settings.temperature
    if settings.top_k is not None:
        logits = filter_top_k(logits, settings.top_k)
    logits = filter_top_p(logits, settings.top_p)
    probabilities = torch.softmax(logits, dim=0)
    return int(torch.multinomial(probabilities, 1, generator=generator))


def encode_prompt(encoder: TextEncoder, prompt: str) -> list[int]:
    """The prompt's ids; tokens outside the vocabulary become <unk>, with a warning naming them."""
    tokens = encoder.tokenizer.tokenize(prompt)
    unknown = sorted({token for token in tokens if token not in encoder.vocab or token == UNK})
    if unknown:
        shown = ", ".join(repr(token) for token in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        warnings.warn(
            f"the prompt has {len(unknown)} token(s) the model never saw in training ({shown}{more}); "
            f"they are read as {UNK}", UserWarning, stacklevel=3,
        )
    return encoder.vocab.encode(tokens)


def start_ids(encoder: TextEncoder) -> list[int]:
    """What an empty prompt starts from: a newline (a character model's line start) or the most
    frequent token."""
    if "\n" in encoder.vocab:
        return [encoder.vocab.id_of("\n")]
    return [min(FIRST_REGULAR_ID, len(encoder.vocab) - 1)]


@torch.no_grad()
def generate(
    model: nn.Module,
    encoder: TextEncoder,
    prompt: str = "",
    max_new_tokens: int = 200,
    settings: SamplingSettings = SamplingSettings(),
    stop: str | None = None,
    seed: int = 0,
) -> str:
    """The text a language model writes after `prompt` (the prompt itself not included).

    Args:
        model: maps (1, T) ids and a state to (logits (1, T, V), state).
        stop: generation ends when the new text contains it; the text returned ends before it.
        seed: seeds the sampling generator: the same seed, model and settings give the same text.
    """
    if max_new_tokens < 0:
        raise TrainlabError(f"max new tokens ({max_new_tokens}) must be >= 0")
    if stop == "":
        raise TrainlabError("the stop string is empty; leave it out to generate max new tokens")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    context = encode_prompt(encoder, prompt) if prompt else []
    inputs = context or start_ids(encoder)
    new_ids: list[int] = []
    text = ""
    with evaluating(model):
        logits, state = model(torch.tensor([inputs], device=device), None)
        for _ in range(max_new_tokens):
            step_logits = logits[0, -1].float().cpu()
            step_logits[PAD_ID] = -torch.inf
            seen = torch.tensor(context + new_ids, dtype=torch.long)
            token = next_token(step_logits, settings, generator, seen)
            new_ids.append(token)
            if stop is not None:
                text = _decode_new(encoder, context, new_ids)
                if stop in text:
                    return text[: text.index(stop)]
            logits, state = model(torch.tensor([[token]], device=device), state)
    return _decode_new(encoder, context, new_ids)


def _decode_new(encoder: TextEncoder, context: list[int], new_ids: list[int]) -> str:
    # Word tokens are joined with spaces: the new text starts with one when it follows a prompt.
    text = encoder.decode(new_ids)
    return " " + text if context and encoder.tokenizer.kind == "word" and text else text


def samples_by_temperature(
    model: nn.Module,
    encoder: TextEncoder,
    prompt: str = "",
    temperatures: tuple[float, ...] = SAMPLE_TEMPERATURES,
    max_new_tokens: int | None = None,
    seed: int = 0,
) -> dict:
    """What RUN_DIR/samples.json holds: one text per temperature, all from `prompt` with `seed`.

    `max_new_tokens` defaults to 300 characters, or 60 words for a word model."""
    if max_new_tokens is None:
        max_new_tokens = SAMPLE_TOKENS if encoder.tokenizer.kind == "char" else SAMPLE_TOKENS // 5
    samples = [
        {"temperature": temperature,
         "text": generate(model, encoder, prompt, max_new_tokens, SamplingSettings(temperature), seed=seed)}
        for temperature in temperatures
    ]
    return {"prompt": prompt, "seed": seed, "max_new_tokens": max_new_tokens, "samples": samples}


def load_language_model(run_dir: str | os.PathLike) -> tuple[nn.Module, TextEncoder]:
    """The trained model (the weights metrics.json was computed with) and its text encoder."""
    config = rundir.load_run_config(run_dir)
    if config.task != "language-model":
        raise TrainlabError(f"'{run_dir}' is a {config.task} run; generate takes language-model runs")
    trained = rundir.load_trained(run_dir, config)
    assert trained.encoder is not None
    return trained.model, trained.encoder


def generate_from_run(
    run_dir: str | os.PathLike,
    prompt: str = "",
    max_new_tokens: int = 200,
    settings: SamplingSettings = SamplingSettings(),
    stop: str | None = None,
    seed: int = 0,
) -> str:
    """`generate` with the trained model of a language-model run directory."""
    model, encoder = load_language_model(run_dir)
    return generate(model, encoder, prompt, max_new_tokens, settings, stop, seed)


__all__ = [
    "SamplingSettings", "apply_repetition_penalty", "filter_top_k", "filter_top_p", "generate",
    "generate_from_run", "load_language_model", "next_token", "samples_by_temperature",
]
