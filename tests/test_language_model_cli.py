"""`trainlab train language-model` and `trainlab generate` end to end on a small text the test
writes: the metrics a language-model run must report, the samples file, reproducible generation,
and one-line errors."""

from __future__ import annotations

import json
import math

import pytest

from trainlab import rundir
from trainlab.training.callbacks import Callback

VERSES = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
    "ROMEO:\nShall I hear more, or shall I speak at this?\n\n"
)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """One tiny character-level run, trained once for every test of this file."""
    from trainlab.cli import main

    folder = tmp_path_factory.mktemp("lm")
    corpus = folder / "verses.txt"
    corpus.write_text(VERSES * 12, encoding="utf-8")
    run_dir = folder / "run"
    code = main(["train", "language-model", "--data", str(corpus), "--out", str(run_dir), "--quiet",
                 "train.epochs=2", "model.hidden_size=24", "model.layers=1", "data.sequence_length=16",
                 "data.batch_size=8", "optim.lr=0.01"])
    assert code == 0
    return run_dir


def test_a_run_reports_loss_perplexity_bpc_and_the_baselines(lm_run):
    metrics = rundir.read_json(lm_run / rundir.METRICS_FILE)
    assert metrics["test_perplexity"] == pytest.approx(math.exp(metrics["test_loss"]))
    assert metrics["test_bpc"] == pytest.approx(metrics["test_loss"] / math.log(2))
    for baseline in ("unigram", "bigram"):
        bpc = metrics[f"baseline_{baseline}_bpc"]
        assert metrics[f"baseline_{baseline}_perplexity"] == pytest.approx(2 ** bpc)
    # The bigram reads one character of context: on verses this repetitive it beats the unigram.
    assert metrics["baseline_bigram_bpc"] < metrics["baseline_unigram_bpc"]
    config = (lm_run / rundir.CONFIG_FILE).read_text()
    assert "tokenizer: char" in config and "test_fraction: 0.05" in config  # resolved defaults recorded
    samples = json.loads((lm_run / rundir.SAMPLES_FILE).read_text())
    assert [sample["temperature"] for sample in samples["samples"]] == [0.0, 0.5, 0.8, 1.0, 1.2]


def test_evaluate_scores_the_saved_weights_as_the_run_did(lm_run, trainlab):
    code, out, _ = trainlab("evaluate", lm_run)
    assert code == 0
    assert json.loads(out)["test_loss"] == pytest.approx(rundir.read_json(lm_run / rundir.METRICS_FILE)["test_loss"])


def test_generate_prints_the_prompt_and_its_continuation_the_same_for_a_seed(lm_run, trainlab):
    code, first, _ = trainlab("generate", lm_run, "--prompt", "ROMEO:", "--seed", "1", "--max-new-tokens", "40")
    assert code == 0 and first.startswith("ROMEO:") and len(first.rstrip("\n")) > len("ROMEO:")
    assert trainlab("generate", lm_run, "--prompt", "ROMEO:", "--seed", "1", "--max-new-tokens", "40")[1] == first
    _, greedy, _ = trainlab("generate", lm_run, "--prompt", "ROMEO:", "--temperature", "0")
    _, top_one, _ = trainlab("generate", lm_run, "--prompt", "ROMEO:", "--top-k", "1", "--seed", "5")
    assert greedy == top_one


def test_generate_stops_before_the_stop_string_and_warns_about_unknown_characters(lm_run, trainlab):
    code, out, err = trainlab("generate", lm_run, "--prompt", "Zebra", "--stop", "\n", "--seed", "2")
    assert code == 0
    assert out.startswith("Zebra") and "\n" not in out.rstrip("\n")[len("Zebra"):]
    assert err.strip() == (
        "trainlab: warning: the prompt has 1 token(s) the model never saw in training ('Z'); "
        "they are read as <unk>"
    )


def test_generate_errors_are_one_line(lm_run, trainlab, tmp_path):
    code, _, err = trainlab("generate", lm_run, "--top-p", "1.5")
    assert (code, err) == (2, "trainlab: error: top-p (1.5) must lie in (0, 1] (1 keeps every token)\n")
    code, _, err = trainlab("generate", tmp_path, "--prompt", "x")
    assert (code, err) == (2, f"trainlab: error: '{tmp_path}' is not a run directory (it has no config.yaml)\n")


def test_the_run_figures_show_samples_and_bpc_against_the_baselines(lm_run):
    from trainlab.reports.lm_plots import plot_lm_run

    written = plot_lm_run(lm_run)
    assert [path.name for path in written] == ["samples.png", "bpc_vs_baselines.png"]
    assert all(path.stat().st_size > 0 for path in written)


def test_generate_help_text(capsys):
    from trainlab.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--help"])
    assert exit_info.value.code == 0
    assert 'trainlab generate runs/shakespeare --prompt "ROMEO:" --seed 1' in capsys.readouterr().out


@pytest.mark.slow
def test_tiny_shakespeare_holds_out_its_last_ten_percent(shared_data, tmp_path, trainlab):
    corpus = shared_data / "tiny_shakespeare" / "input.txt"
    code, _, _ = trainlab("train", "language-model", "--data", corpus, "--out", tmp_path / "run", "--quiet",
                          "train.epochs=1", "model.hidden_size=16", "model.layers=1", "data.limit=60000")
    assert code == 0
    info = rundir.read_json(tmp_path / "run" / rundir.DATA_FILE)
    characters = len(corpus.read_text(encoding="utf-8"))
    held_out = round(characters * 0.05)
    assert info["tokens"] == {"train": 60000, "val": held_out, "test": held_out}  # the limit cuts train only
    metrics = rundir.read_json(tmp_path / "run" / rundir.METRICS_FILE)
    assert metrics["baseline_bigram_bpc"] < metrics["baseline_unigram_bpc"]
    code, out, _ = trainlab("generate", tmp_path / "run", "--prompt", "ROMEO:", "--seed", "1")
    assert code == 0 and out.startswith("ROMEO:")


class InterruptAfterSecondEpoch(Callback):
    """Raises after epoch 2's checkpoint is written, as a kill would."""

    order = 1001  # after Checkpointing (1000)

    def on_epoch_end(self, state):
        if state.epoch == 2:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_an_interrupted_stateful_run_resumes_to_the_same_metrics(tmp_path, monkeypatch):
    from trainlab import experiment
    from trainlab.config import build_config

    corpus = tmp_path / "verses.txt"
    corpus.write_text(VERSES * 6, encoding="utf-8")
    config = build_config({
        "task": "language-model", "data": {"source": str(corpus), "sequence_length": 12, "batch_size": 4},
        "model": {"name": "lstm", "hidden_size": 8, "layers": 2, "dropout": 0.3}, "train": {"epochs": 3},
    })
    defaults = experiment.default_callbacks
    with monkeypatch.context() as patch:
        patch.setattr(experiment, "default_callbacks",
                      lambda *a, **k: [*defaults(*a, **k), InterruptAfterSecondEpoch()])
        with pytest.raises(KeyboardInterrupt):
            experiment.train_run(config.model_copy(deep=True), tmp_path / "a", quiet=True)
    resumed = experiment.resume_run(tmp_path / "a", quiet=True)
    unbroken = experiment.train_run(config.model_copy(deep=True), tmp_path / "b", quiet=True)
    timings = ("train_seconds", "samples_per_second")
    assert {k: v for k, v in resumed.items() if k not in timings} == {
        k: v for k, v in unbroken.items() if k not in timings}
    assert (tmp_path / "a" / rundir.SAMPLES_FILE).read_text() == (tmp_path / "b" / rundir.SAMPLES_FILE).read_text()


def test_samples_figure_shows_dollar_signs_as_text(tmp_path):
    """Samples of a model trained on source code hold '$'; two of them around an unknown TeX
    command made matplotlib's mathtext fail the whole report."""
    from trainlab.reports.lm_plots import plot_samples

    samples = {"samples": [{"temperature": 0.8, "text": 'echo "$\\foo" > $HOME/x'}]}
    path = plot_samples(samples, tmp_path / "samples.png")
    assert path.read_bytes().startswith(b"\x89PNG")
