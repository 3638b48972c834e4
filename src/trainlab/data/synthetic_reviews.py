"""A generated corpus of short movie reviews for offline sentiment experiments.

Each review mixes sentiment sentences ("the acting was not very good .") with neutral filler ("i
watched it last night ."). A sentiment phrase scores +1 (positive adjective) or -1 (negative),
doubled by an intensifier ("very", "really", ...) and flipped by a negation ("not", "never"); a
review's label is the sign of the sum of its phrases. About two phrases in five are negated, so
the adjectives alone do not give the label away, and an intensifier between the negation and the
adjective ("not very good") hides the negation from word bigrams: order matters, as in real text.

The corpus depends only on its size and seed, and its classes are balanced (the one extra review
of an odd count is negative).
"""

from __future__ import annotations

import numpy as np

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.text import TextSplits, assemble_text_splits
from trainlab.data.text_files import RawTexts

SENTIMENT_CLASSES = ["neg", "pos"]
POSITIVE = ("good", "great", "excellent", "wonderful", "enjoyable", "brilliant", "superb", "charming",
            "moving", "fun")
NEGATIVE = ("bad", "awful", "terrible", "boring", "dull", "poor", "weak", "horrible", "tedious",
            "disappointing")
INTENSIFIERS = ("very", "really", "extremely", "so", "incredibly")
NEGATIONS = ("not", "never")
ASPECTS = ("movie", "film", "plot", "acting", "story", "ending", "music", "dialogue", "cast", "direction")
FILLER = (
    "i watched it {when} .",
    "the {aspect} lasted about two hours .",
    "it is based on a book i have not read .",
    "my friends and i saw it {when} .",
    "the director also made a series about the sea .",
    "there are many scenes in the city and a few at night .",
    "the {aspect} has a lot of characters .",
    "we talked about the {aspect} after it ended .",
)
WHEN = ("last night", "on a sunday", "at the cinema", "on television", "last week")
NEGATION_RATE = 0.4
INTENSIFIER_RATE = 0.4
AGREEMENT_RATE = 0.7  # share of a review's phrases whose own polarity matches its label


def pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    # Indexing a tuple is ~20x faster than rng.choice, which builds an array per call.
    return options[rng.integers(len(options))]


def phrase(rng: np.random.Generator, positive: bool) -> tuple[str, int]:
    """A sentiment phrase meaning `positive` and its score: +-1, x2 if intensified."""
    negated = rng.random() < NEGATION_RATE
    intensified = rng.random() < INTENSIFIER_RATE
    # A negated phrase says the opposite of its adjective ("not bad" is positive).
    adjective_positive = positive != negated
    words = [pick(rng, POSITIVE if adjective_positive else NEGATIVE)]
    if intensified:
        words.insert(0, pick(rng, INTENSIFIERS))
    if negated:
        words.insert(0, pick(rng, NEGATIONS))
    score = (1 if positive else -1) * (2 if intensified else 1)
    return " ".join(words), score


def sentiment_sentence(rng: np.random.Generator, positive: bool) -> tuple[str, int]:
    text, score = phrase(rng, positive)
    aspect = pick(rng, ASPECTS)
    template = rng.integers(3)
    if template == 0:
        return f"the {aspect} was {text} .", score
    if template == 1:
        return f"i thought the {aspect} was {text} .", score
    return f"overall it was {text} .", score


def filler_sentence(rng: np.random.Generator) -> str:
    return pick(rng, FILLER).format(aspect=pick(rng, ASPECTS), when=pick(rng, WHEN))


def review(rng: np.random.Generator, positive: bool) -> str:
    """One review whose phrases add up to the sign `positive` asks for (drawn until they do)."""
    while True:
        scored = [sentiment_sentence(rng, positive if rng.random() < AGREEMENT_RATE else not positive)
                  for _ in range(rng.integers(1, 5))]
        total = sum(score for _, score in scored)
        if total != 0 and (total > 0) == positive:
            break
    sentences = [text for text, _ in scored]
    sentences += [filler_sentence(rng) for _ in range(rng.integers(1, 4))]
    order = rng.permutation(len(sentences))
    return " ".join(sentences[index] for index in order)


def synthetic_reviews(count: int, seed: int = 0) -> RawTexts:
    """`count` reviews labelled "neg"/"pos", half of each (negative gets the odd one), in a
    random order fixed by `seed`."""
    if count < 2:
        raise ValueError(f"synthetic reviews: count must be >= 2 (one of each class), got {count}")
    rng = np.random.default_rng(seed)
    positive = np.arange(count) < count // 2
    positive = positive[rng.permutation(count)]
    texts = [review(rng, bool(flag)) for flag in positive]
    labels = [SENTIMENT_CLASSES[int(flag)] for flag in positive]
    return RawTexts(texts, labels, f"synthetic-reviews (seed {seed})", "the sign of the phrase scores")


@registry.datasets.register(
    "synthetic-reviews",
    "generated movie reviews with negations and intensifiers, data.num_examples of them (offline)",
    task="text-classification",
)
def synthetic_reviews_dataset(data: DataConfig) -> TextSplits:
    """`data.num_examples` reviews generated with `data.split_seed`, split like any text file."""
    raw = synthetic_reviews(data.num_examples, seed=data.split_seed)
    return assemble_text_splits("synthetic-reviews", raw, data, classes=SENTIMENT_CLASSES)
