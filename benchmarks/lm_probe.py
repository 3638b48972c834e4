"""How much does a language model know about a classification's labels? A linear probe.

Runs a word-level language model run's embedding and recurrent layers over labelled texts (each
from a zero state, as `model.pretrained_encoder` starts a classifier), pools the last layer's states
(last step, max, mean, and the three side by side as `model.pooling=concat` does), fits a logistic
regression on the first texts and scores it on the rest. The same network with its initial random
weights is probed too: the difference is what pretraining taught the states.

    python -m benchmarks.lm_probe /tmp/imdb-lm3 --data ../shared/data/imdb/train.csv
"""

from __future__ import annotations

import argparse
import csv

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from trainlab.rundir import load_trained

POOLINGS = ("last", "max", "mean", "concat")


def pooled_states(run_dir: str, texts: list[str], trained: bool, max_length: int) -> np.ndarray:
    """(texts, 3 * hidden): last, max and mean of the recurrent outputs of each text."""
    torch.manual_seed(0)  # the untrained network: the initial weights of seed 0
    run = load_trained(run_dir, weights=trained)
    model, encoder = run.model.eval(), run.encoder
    rows = []
    with torch.no_grad():
        for text in texts:
            ids = encoder.encode(text)[:max_length] or [0]
            outputs, _ = model.rnn(model.embedding(torch.tensor([ids])))
            outputs = outputs[0]
            rows.append(torch.cat([outputs[-1], outputs.amax(0), outputs.mean(0)]).numpy())
    return np.stack(rows)


def probe(features: np.ndarray, labels: np.ndarray, fit_count: int) -> dict[str, float]:
    """Held-out accuracy of a logistic regression on each pooling's columns."""
    size = features.shape[1] // 3
    columns = {"last": slice(0, size), "max": slice(size, 2 * size), "mean": slice(2 * size, 3 * size),
               "concat": slice(0, 3 * size)}
    scores = {}
    for name in POOLINGS:
        x = features[:, columns[name]]
        classifier = LogisticRegression(max_iter=3000).fit(x[:fit_count], labels[:fit_count])
        scores[name] = classifier.score(x[fit_count:], labels[fit_count:])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a word-level language-model run")
    parser.add_argument("--data", required=True, help="a CSV with text and label columns")
    parser.add_argument("--texts", type=int, default=4000, help="texts drawn at random (seed 0)")
    parser.add_argument("--fit", type=int, default=3000, help="of which the probe is fitted on")
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with open(args.data, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    chosen = np.random.default_rng(0).permutation(len(rows))[: args.texts]
    texts = [rows[index]["text"] for index in chosen]
    labels = np.array([rows[index]["label"] for index in chosen])
    print(f"{len(texts)} texts: probe fitted on {args.fit}, scored on {len(texts) - args.fit}")
    print("weights     " + "  ".join(f"{name:>7}" for name in POOLINGS))
    for trained in (True, False):
        scores = probe(pooled_states(args.run_dir, texts, trained, args.max_length), labels, args.fit)
        print(f"{'trained' if trained else 'random':<11} " + "  ".join(f"{scores[name]:7.3f}" for name in POOLINGS))


if __name__ == "__main__":
    main()
