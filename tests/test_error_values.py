"""Error messages show values as the user wrote them: `0`, not `np.int64(0)` or `['0', '1']`."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.config import build_config
from trainlab.errors import TrainlabError


def error_of(**raw) -> str:
    with pytest.raises(TrainlabError) as error:
        build_config({"task": "image-classification", **raw})
    return str(error.value)


def test_numpy_values_from_the_python_api_are_shown_as_numbers():
    # e.g. `for epochs in np.arange(0, 30, 10): train_run(build_config({... epochs ...}), ...)`
    assert error_of(train={"epochs": np.int64(0)}) == "train.epochs: Input should be greater than 0 (got 0)"
    assert error_of(optim={"lr": np.float64(-1)}) == "optim.lr: Input should be greater than 0 (got -1.0)"
    assert error_of(model={"channels": list(np.array([4, -2]))}) == (
        "model.channels.1: Input should be greater than 0 (got -2)"
    )


def test_a_list_is_shown_as_written(trainlab):
    code, _, err = trainlab("data", "show", "digits", "data.classes=[0,1,99]")
    assert code == 2
    assert err.strip() == (
        "trainlab: error: data.classes=[0, 1, 99]: give two or more distinct classes of digits "
        "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9); unknown: 99"
    )
