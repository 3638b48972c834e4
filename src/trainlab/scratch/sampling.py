"""Sampling text from a NumPy network one token at a time (temperature 0 is greedy)."""

from __future__ import annotations

import numpy as np

from trainlab.scratch.network import RecurrentNetwork


def sample(network: RecurrentNetwork, prompt: list[int], count: int, temperature: float = 1.0,
           seed: int = 0) -> list[int]:
    """`count` new token ids after reading `prompt` (at least one id).

    Temperature divides the logits before the softmax; 0 takes the most likely token every step.
    The same seed gives the same tokens.
    """
    if not prompt:
        raise ValueError("sample needs a prompt of at least one token")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    rng = np.random.default_rng(seed)
    logits, state = network.forward(np.asarray(prompt, dtype=np.int64)[:, None])
    last = logits[-1, 0]
    produced = []
    for _ in range(count):
        if temperature == 0:
            token = int(np.argmax(last))
        else:
            scaled = (last - last.max()) / temperature
            probabilities = np.exp(scaled) / np.exp(scaled).sum()
            token = int(rng.choice(len(probabilities), p=probabilities))
        produced.append(token)
        logits, state = network.forward(np.asarray([[token]], dtype=np.int64), state)
        last = logits[-1, 0]
    return produced
