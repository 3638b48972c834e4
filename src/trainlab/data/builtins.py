"""Importing this module registers every builtin dataset (`trainlab list datasets`).

The package itself imports none of them: a command that only needs a tokenizer or a transform
(predict, a listing of models) then loads no pandas, Pillow or statsmodels.
"""

from trainlab.data import (  # noqa: F401  (register builtins)
    corpus,
    images,
    next_word,
    series_sources,
    synthetic,
    synthetic_reviews,
    text,
)
