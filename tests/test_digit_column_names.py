"""Columns named with digits ("0", "2017") can be named in the data section, quoted or not."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from trainlab.config import apply_overrides, build_config, load_yaml, parse_overrides


def data_config(*pairs: str, task: str = "forecast"):
    return build_config(apply_overrides({"task": task}, parse_overrides(list(pairs)))).data


@pytest.mark.parametrize("spelling", ["0", '"0"', "'0'"])
def test_a_digit_column_name_is_text_in_either_spelling(spelling):
    assert data_config(f"data.target={spelling}").target == "0"
    assert data_config(f"data.time_column={spelling}").time_column == "0"
    text = data_config(f"data.text_column={spelling}", f"data.label_column={spelling}", task="text-classification")
    assert (text.text_column, text.label_column) == ("0", "0")


def test_a_quoted_number_stays_text():
    assert parse_overrides(['data.target="0"', "data.target='2017'"]) == [("data.target", "0"), ("data.target", "2017")]


def test_lists_of_digit_columns_and_years():
    data = data_config("data.target=[2017, 2018]", "data.covariates=[0, '1']")
    assert data.target == ["2017", "2018"] and data.covariates == ["0", "1"]
    assert data_config("data.target=2017").target == "2017"


def test_leading_zeros_are_kept_not_read_as_octal():
    # YAML 1.1 reads 0101 as the octal number 65: a column "0101" must stay "0101".
    assert data_config("data.target=0101").target == "0101"
    # ... and a number written with a leading zero is still that decimal number.
    assert build_config(apply_overrides({"task": "forecast"}, parse_overrides(["train.epochs=010"]))).train.epochs == 10


def test_digit_column_names_in_a_yaml_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("task: forecast\ndata:\n  time_column: 0\n  target: 2017\n  covariates: [1]\n")
    data = build_config(load_yaml(path)).data
    assert (data.time_column, data.target, data.covariates) == ("0", "2017", ["1"])


def test_a_series_csv_column_named_0_is_found(trainlab, tmp_path):
    path = tmp_path / "series.csv"
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=60, freq="D").date,
                          "0": np.arange(60) % 7, "2017": np.arange(60)})
    frame.to_csv(path, index=False)
    for spelling in ("0", '"0"'):
        code, out, err = trainlab("data", "show", path, "--task", "forecast", "data.time_column=date",
                                  f"data.target={spelling}", "data.window=5")
        assert code == 0, err
        assert out.strip().endswith("2020-01-01..2020-02-29; target 0"), out


def test_a_text_csv_column_named_0_is_found(trainlab, tmp_path):
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["0", "1"])
        for index in range(40):
            writer.writerow([f"review {index} {'good' if index % 2 else 'bad'}", "pos" if index % 2 else "neg"])
    code, out, err = trainlab("data", "show", path, "--task", "text-classification",
                              "data.text_column=0", 'data.label_column="1"')
    assert code == 0, err
    assert "; 2 classes (neg, pos); " in out, out
