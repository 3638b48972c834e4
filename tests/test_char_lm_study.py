"""The `char-lm` study: valid configs at both scales, and a shrunken quick run whose summary holds
bpc against both baselines and the samples by temperature, with the figures in its report."""

from __future__ import annotations

import json

import pytest

from trainlab import registry, studies
from trainlab.config import build_config
from trainlab.studies.runner import SUMMARY_FILE


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_every_arm_is_a_valid_language_model_config(scale):
    plan = registry.studies.get("char-lm")(scale)
    assert [arm.name for arm in plan.arms] == ["stateful", "windows"]
    configs = [build_config(arm.config) for arm in plan.arms]
    assert [config.data.stateful for config in configs] == [True, False]
    assert all(config.task == "language-model" and config.data.tokenizer == "char" for config in configs)
    assert plan.metrics[0] == "test_bpc" and not plan.higher_is_better
    if scale == "quick":
        assert configs[0].data.source == "python-stdlib"  # offline


@pytest.mark.slow
def test_a_shrunken_quick_study_reports_bpc_baselines_and_samples(tmp_path):
    overrides = [("data.limit", 3000), ("train.epochs", 1), ("model.hidden_size", 16), ("model.layers", 1),
                 ("data.sequence_length", 16), ("data.batch_size", 8)]
    study_dir, summary = studies.run("char-lm", "quick", None, tmp_path / "study", overrides, quiet=True)
    saved = json.loads((study_dir / SUMMARY_FILE).read_text())
    row = {row["arm"]: row for row in saved["rows"]}["stateful"]
    assert row["baseline_bigram_bpc"]["mean"] < row["baseline_unigram_bpc"]["mean"]
    assert "unigram" in summary["finding"] and "bigram" in summary["finding"]
    samples = saved["samples_by_temperature"]
    assert samples["arm"] in ("stateful", "windows")
    assert [sample["temperature"] for sample in samples["samples"]] == [0.0, 0.5, 0.8, 1.0, 1.2]
    assert (study_dir / "plots" / "bpc_vs_baselines.png").is_file()
    assert (study_dir / "plots" / "samples_by_temperature.png").is_file()
    assert "samples_by_temperature" in (study_dir / "report.html").read_text()
