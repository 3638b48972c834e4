"""Study `lstm-gates`: its arms, the per-run metrics, and the comparison with Greff et al. computed
from results (hand-made summaries with a known answer); the quick run itself is marked slow."""

from __future__ import annotations

import json

import pytest

from trainlab import registry, rundir, runs, studies
from trainlab.config import build_config
from trainlab.metrics.statistics import estimate
from trainlab.models.recurrent_cells import VARIANTS, UnrolledLSTM
from trainlab.studies import lstm_gates


def test_every_variant_runs_on_both_tasks_with_the_same_budget():
    for scale in ("quick", "full"):
        plan = registry.studies.get("lstm-gates")(scale)
        assert [arm.name for arm in plan.arms] == [f"{task}-{v}" for task in ("lm", "adding") for v in VARIANTS]
        for task in ("lm", "adding"):
            configs = [arm.config for arm in plan.arms if arm.name.startswith(f"{task}-")]
            budgets = {json.dumps({key: value for key, value in config.items() if key != "model"}, sort_keys=True)
                       for config in configs}
            assert len(budgets) == 1, task  # data, optimiser and epochs are the same for every variant
            hidden = {config["model"]["hidden_size"] for config in configs}
            assert len(hidden) == 1
        for arm in plan.arms:
            config = build_config(arm.config)
            assert config.model.unrolled and config.model.variant == arm.name.split("-", 1)[1]


def test_the_variant_reaches_the_model():
    from trainlab.models.sequence import SequenceSpec

    plan = registry.studies.get("lstm-gates")("quick")
    arm = next(arm for arm in plan.arms if arm.name == "adding-cifg")
    config = build_config(arm.config)
    model = registry.models.get("lstm", config.task)(config.model, SequenceSpec(2, 1, "regression", False, 15))
    assert isinstance(model.rnn, UnrolledLSTM) and model.rnn.variant == "cifg"
    assert model.rnn.weight_hh_l0.shape == (3 * 32, 32)  # i, g, o: CIFG has no forget-gate rows


def _summary(task_values: dict[str, dict[str, list[float]]], seeds: int = 2) -> dict:
    rows = [{"arm": f"{task}-{variant}", "label": variant, "params": 100,
             "final_metric": estimate(values).to_dict()}
            for task, by_variant in task_values.items() for variant, values in by_variant.items()]
    return {"rows": rows, "comparisons": [], "seeds": seeds}


# Greff et al.'s picture: NFG and NOAF far worst, CIFG about vanilla, NIG/NOG/NIAF in between, FGR
# and peepholes no better.
AS_GREFF = {"vanilla": [2.00, 2.02], "nig": [2.10, 2.12], "nfg": [2.50, 2.52], "nog": [2.08, 2.10],
            "niaf": [2.05, 2.07], "noaf": [2.40, 2.42], "cifg": [2.02, 2.04], "peepholes": [2.00, 2.03],
            "fgr": [2.01, 2.03]}
# The opposite: forgetting hurts, CIFG costs most, FGR clearly better.
AGAINST = {"vanilla": [1.00, 1.01], "nig": [1.50, 1.52], "nfg": [0.50, 0.51], "nog": [1.60, 1.61],
           "niaf": [1.70, 1.71], "noaf": [1.02, 1.03], "cifg": [2.00, 2.02], "peepholes": [1.01, 1.02],
           "fgr": [0.60, 0.61]}


def test_ranking_and_effects_from_the_results():
    assert lstm_gates.ranking(AS_GREFF)[:1] == ["vanilla"] and lstm_gates.ranking(AS_GREFF)[-2:] == ["noaf", "nfg"]
    effects = lstm_gates.effects(AS_GREFF)
    assert effects["nfg"]["effect"] == pytest.approx(0.5)
    assert effects["nfg"]["share_of_worst"] == pytest.approx(1.0)
    assert effects["cifg"]["share_of_worst"] == pytest.approx(0.02 / 0.5)
    assert effects["nfg"]["difference"]["significant"] is True


def test_the_claims_agree_when_the_results_look_like_greff_and_not_when_they_do_not():
    checks = lstm_gates.greff_checks(AS_GREFF)
    assert {claim: check["verdict"] for claim, check in checks.items()} == {
        "critical": "agrees", "cifg": "agrees", "minor": "agrees", "fgr": "agrees", "peepholes": "agrees"}
    against = lstm_gates.greff_checks(AGAINST)
    assert against["critical"]["verdict"] == "disagrees"  # worst two are CIFG and NIAF
    assert against["critical"]["detail"] == "worst two: CIFG, NIAF"
    assert against["cifg"]["verdict"] == "disagrees"
    assert against["minor"]["verdict"] == "disagrees"  # NIG/NOG/NIAF all worse than NFG and NOAF
    assert against["fgr"]["verdict"] == "disagrees"  # significantly better than vanilla
    assert against["peepholes"]["verdict"] == "agrees"
    partly = dict(AS_GREFF, noaf=[2.03, 2.05])  # NOAF no longer among the worst two
    assert lstm_gates.greff_checks(partly)["critical"]["verdict"] == "partly"


def test_summary_views_narrative_and_finding_say_where_the_tasks_differ():
    summary = _summary({"lm": AS_GREFF, "adding": AGAINST})
    finding = lstm_gates.finding(summary)
    assert finding.startswith("lm: worst NFG, NOAF, CIFG +0.02; adding: worst CIFG, NIAF, CIFG +1 (")
    assert "1 of 5 of Greff et al.'s claims hold on both tasks" in finding  # peepholes, on both
    greff = summary["greff"]
    assert greff["critical"]["lm"]["verdict"] == "agrees" and greff["critical"]["adding"]["verdict"] == "disagrees"
    assert any(p.startswith("Greff et al.: coupling the input and forget gates (CIFG) is nearly free. Here: "
                            "agrees on lm; disagrees on adding") for p in summary["narrative"])
    assert any(p.startswith("Greff et al.: peepholes do not help significantly. Here: agrees on both tasks")
               for p in summary["narrative"])
    metrics = {(c["a"], c["metric"]) for c in summary["comparisons"]}
    assert ("lm-nfg", "test_bpc") in metrics and ("adding-fgr", "loss_vs_memoryless") in metrics
    lstm_gates.finding(summary)  # idempotent: the comparisons are not added twice
    assert len(summary["comparisons"]) == 16


def test_one_seed_gives_verdicts_without_intervals():
    summary = _summary({"lm": {variant: values[:1] for variant, values in AS_GREFF.items()}}, seeds=1)
    lstm_gates.finding(summary)
    assert summary["greff"]["fgr"]["lm"]["verdict"] == "agrees"
    assert "adding" not in summary["greff"]["fgr"]


def test_run_metrics_divide_by_the_same_seeds_vanilla_run(tmp_path):
    for arm, bpc in (("lm-vanilla", 2.0), ("lm-nfg", 2.5)):
        run_dir = tmp_path / arm / "seed-1"
        run_dir.mkdir(parents=True)
        runs.write_json(run_dir / rundir.METRICS_FILE, {"test_bpc": bpc})
        (run_dir / rundir.HISTORY_FILE).write_text("epoch,seconds\n1,2.0\n2,4.0\n")
    extra = lstm_gates.run_metrics(tmp_path / "lm-nfg" / "seed-1")
    assert extra == {"final_metric": 2.5, "vs_vanilla": 1.25, "seconds_per_epoch": 3.0}


@pytest.mark.slow
def test_the_quick_study_writes_its_summary_and_report(tmp_path):
    study_dir, _ = studies.run("lstm-gates", "quick", seeds=2, study_dir=tmp_path / "study", quiet=True)
    assert (study_dir / "report.html").is_file() and (study_dir / "plots" / "variants_by_task.png").is_file()
    on_disk = json.loads((study_dir / "summary.json").read_text())
    assert set(on_disk["ranking"]) == {"lm", "adding"} and len(on_disk["greff"]) == 5
    vanilla = next(row for row in on_disk["rows"] if row["arm"] == "lm-vanilla")
    assert vanilla["vs_vanilla"]["mean"] == pytest.approx(1.0) and on_disk["headline_metric"] == "final_metric"
    assert "Greff et al.: full gate recurrence" in (study_dir / "report.html").read_text()
