"""Study `forecasting`: every strategy / teacher-forcing arm and every baseline in one table."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from trainlab import rundir, studies
from trainlab.config import build_config
from trainlab.forecasting.baselines import BASELINES
from trainlab.metrics.statistics import estimate
from trainlab.studies.forecasting import BASELINE_NAMES, baselines_as_rows, finding, forecasting

ARMS = ["direct", "recursive", "seq2seq-always", "seq2seq-never", "seq2seq-scheduled"]
SCORES = ["test_mase", "test_mae", "test_rmse", "test_mape", "test_smape"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny LSTMs train ~30x faster on one thread than on the two shared cores (OpenMP contention)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_plan_covers_every_strategy_and_teacher_forcing_setting():
    assert BASELINE_NAMES == tuple(BASELINES)  # the study's copy of the names (it imports lazily)
    for scale in ("quick", "full"):
        plan = forecasting(scale)
        assert [arm.name for arm in plan.arms] == ARMS
        models = [arm.config["model"] for arm in plan.arms]
        assert [model["strategy"] for model in models] == ["direct", "recursive", "seq2seq", "seq2seq", "seq2seq"]
        assert [model["teacher_forcing"] for model in models[2:]] == ["always", "never", "scheduled"]
        assert plan.metrics[0] == "test_mase" and not plan.higher_is_better
        data = {json.dumps(arm.config["data"], sort_keys=True) for arm in plan.arms}
        assert len(data) == 1  # same series, windows and origins: the baselines are shared
        for arm in plan.arms:
            assert build_config(arm.config).model.strategy == arm.config["model"]["strategy"]
    assert forecasting("quick").arms[0].config["data"]["source"] == "sunspots"  # offline


def test_a_tiny_study_puts_the_baselines_beside_the_networks(tmp_path):
    study_dir, summary = studies.run("forecasting", "quick", seeds=1, study_dir=tmp_path / "study",
                                     overrides=[("train.epochs", 1)], quiet=True)
    rows = {row["arm"]: row for row in summary["rows"]}
    assert list(rows) == ARMS + [f"baseline:{name}" for name in BASELINES]
    assert summary["metrics"] == SCORES
    for arm in ARMS:
        metrics = rundir.read_json(study_dir / arm / "seed-0" / "metrics.json")
        assert rows[arm]["kind"] == "network"
        assert rows[arm]["test_mase"] == estimate([metrics["test_mase"]]).to_dict()
        for name in BASELINES:  # every arm's backtest scored the baselines identically
            assert metrics[f"baseline_{name}_mase"] == rows[f"baseline:{name}"]["test_mase"]["mean"], (arm, name)
    scored = {arm: row["test_mase"]["mean"] for arm, row in rows.items()}
    winner = min(scored, key=scored.get)
    assert summary["winner"] == winner
    best_baseline = min((arm for arm in scored if arm.startswith("baseline:")), key=scored.get)
    assert summary["best_baseline"] == best_baseline
    if rows[winner]["kind"] == "network":
        margin = (scored[best_baseline] - scored[winner]) / scored[best_baseline]
        assert f"{margin:.1%} below the best baseline" in summary["finding"]
    assert rundir.read_json(study_dir / "summary.json") == summary
    report = (study_dir / "report.html").read_text()
    assert "arima (baseline)" in report and "seq2seq, scheduled sampling" in report
    for figure in ("headline.png", "backtest.png", "error_by_step.png"):
        assert (study_dir / "plots" / figure).stat().st_size > 10_000, figure


def synthetic_summary(network_mase: list[list[float]], baseline_mase: dict[str, float]) -> dict:
    """A runner summary over len(values) seeds, before the baselines become rows."""
    rows = []
    for arm, values in zip(ARMS, network_mase):
        row = {"arm": arm, "label": arm, "params": 100, "test_mase": estimate(values).to_dict()}
        for name in BASELINE_NAMES:
            row[f"baseline_{name}_mase"] = estimate([baseline_mase[name]] * len(values)).to_dict()
        rows.append(row)
    return {"headline_metric": "test_mase", "metrics": ["test_mase"] + [
        f"baseline_{name}_mase" for name in BASELINE_NAMES], "rows": rows}


BASELINE_MASE = {"naive": 1.2, "seasonal_naive": 1.0, "drift": 1.3, "mean": 2.0, "moving_average": 1.4,
                 "ets": 0.9, "arima": 1.1}


def test_baselines_collapse_to_points_and_the_finding_names_the_winner_and_margin():
    summary = synthetic_summary([[0.70, 0.80, 0.75], [1.0, 1.1, 1.2]], BASELINE_MASE)
    sentence = finding(summary)
    assert sentence.startswith("direct won: test_mase 0.750 ± ")
    # (0.9 - 0.75) / 0.9 below ets; the best naive baseline is seasonal_naive.
    assert "16.7% below the best baseline, ets (0.900); the best naive baseline, seasonal_naive, scored 1.000." in sentence
    ets = next(row for row in summary["rows"] if row["arm"] == "baseline:ets")["test_mase"]
    assert ets["std"] == 0 and ets["ci_low"] == ets["ci_high"] == ets["mean"] == 0.9
    assert summary["metrics"] == ["test_mase"]
    again = copy.deepcopy(summary)
    assert baselines_as_rows(again) == summary  # a second call changes nothing


def test_the_finding_says_so_when_a_baseline_wins():
    summary = synthetic_summary([[1.5, 1.7], [1.05, 1.15]], BASELINE_MASE)
    sentence = finding(summary)
    assert sentence.startswith("No network beat the baselines: ets won with test_mase 0.900; the best network, "
                               "recursive, scored 1.100")
    assert "22.2% above it; the best naive baseline, seasonal_naive, scored 1.000." in sentence
    assert summary["winner"] == "baseline:ets"


@pytest.mark.slow
def test_quick_scale_study(tmp_path):
    _, summary = studies.run("forecasting", "quick", study_dir=tmp_path / "study", quiet=True)
    for row in summary["rows"]:
        mase = row["test_mase"]
        print(f"{row['label']:32s} MASE {mase['mean']:.3f}  CI {mase['ci_low']:.3f}-{mase['ci_high']:.3f}")
    print(summary["finding"])
    assert summary["seeds"] == 3
    networks = [row["test_mase"]["mean"] for row in summary["rows"] if row["kind"] == "network"]
    naive = [row["test_mase"]["mean"] for row in summary["rows"] if row["arm"] == "baseline:naive"]
    assert min(networks) < naive[0]  # sunspots' cycles: a network beats repeating the last value
