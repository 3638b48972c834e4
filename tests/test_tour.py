"""`trainlab tour`: studies from the registry, --only/--skip, an index linking each report, and a
failing study recorded without stopping the others. The study runner is replaced by a stub so the
default tests train nothing; the real tour is the slow test."""

from __future__ import annotations

import pytest

from trainlab import registry, runs
from trainlab.errors import TrainlabError
from trainlab.tour import run_tour, select_studies


def stub_study(name, scale, seeds, study_dir, overrides, overwrite, quiet):
    if name == "cnn-ablations":
        raise RuntimeError("boom")
    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / "report.html").write_text("<html></html>")
    return study_dir, {"finding": f"{name} found something."}


def test_tour_selects_registered_studies():
    import trainlab.studies  # noqa: F401

    names = [entry.name for entry in registry.studies.entries()]
    assert select_studies() == names
    assert select_studies(only=[names[1], names[0]]) == names[:2]
    assert select_studies(skip=[names[0]]) == names[1:]
    with pytest.raises(TrainlabError, match="--only nope: no such study; choose from"):
        select_studies(only=["nope"])


def test_tour_records_a_failure_and_runs_the_rest(tmp_path):
    only = ["cnn-ablations", "sentiment", "transfer"]
    index, failed = run_tour(tmp_path, only=only, run_study=stub_study)
    assert failed == ["cnn-ablations"]
    page = index.read_text()
    assert '<a href="sentiment/report.html">' in page and '<a href="transfer/report.html">' in page
    assert "sentiment found something." in page
    assert "Failed: RuntimeError: boom" in page
    assert "boom" in (tmp_path / "cnn-ablations" / "error.txt").read_text()
    record = runs.read_json(tmp_path / "tour.json")
    assert [entry["status"] for entry in record["studies"]] == ["failed", "done", "done"]


@pytest.mark.slow
def test_real_tour_of_two_studies_links_their_reports(trainlab, tmp_path):
    code, out, _ = trainlab("tour", "--only", "over-underfitting,optimizers", "--out", tmp_path)
    assert code == 0 and out.strip() == str(tmp_path / "index.html")
    for name in ("over-underfitting", "optimizers"):
        assert (tmp_path / name / "report.html").is_file()
