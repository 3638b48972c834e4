"""`trainlab tour`: studies from the registry, --only/--skip, an index linking each report, and a
failing study recorded without stopping the others. The study runner is replaced by a stub so the
default tests train nothing; the real tour is the slow test."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest

from trainlab import registry, rundir
from trainlab.errors import TrainlabError
from trainlab.tour import run_tour, select_studies

PNG = base64.b64decode(  # a 1x1 PNG: a headline figure the index must embed
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class StubStudies:
    """Stands in for `studies.run`: records each call, writes a report (sentiment also a headline
    figure), fails for cnn-ablations, and keeps the index as it stood when each study started."""

    def __init__(self, tour_dir):
        self.tour_dir = tour_dir
        self.calls = []
        self.index_before = {}

    def __call__(self, name, scale, seeds, study_dir, overrides, overwrite, quiet):
        self.calls.append((name, scale, seeds, study_dir, tuple(overrides), overwrite))
        index = self.tour_dir / "index.html"
        self.index_before[name] = index.read_text() if index.is_file() else None
        if name == "cnn-ablations":
            raise RuntimeError("boom")
        (study_dir / "plots").mkdir(parents=True, exist_ok=True)
        (study_dir / "report.html").write_text("<html></html>")
        if name == "sentiment":
            (study_dir / "plots" / "headline.png").write_bytes(PNG)
        return study_dir, {"finding": f"{name} found something."}


class Cards(HTMLParser):
    """The index page's cards: study name -> {"links": hrefs, "images": srcs, "text": text}."""

    def __init__(self, page: str):
        super().__init__()
        self.cards: dict[str, dict] = {}
        self.current: dict | None = None
        self.in_title = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "card":
            self.current = {"links": [], "images": [], "text": ""}
        elif self.current is not None and tag == "h2":
            self.in_title = True
        elif self.current is not None and tag == "a":
            self.current["links"].append(attrs["href"])
        elif self.current is not None and tag == "img":
            self.current["images"].append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "h2":
            self.in_title = False

    def handle_data(self, data):
        if self.current is None:
            return
        if self.in_title:
            self.cards[data] = self.current
        self.current["text"] += data


def test_tour_selects_registered_studies():
    import trainlab.studies  # noqa: F401

    names = [entry.name for entry in registry.studies.entries()]
    assert select_studies() == names
    assert select_studies(only=[names[1], names[0]]) == names[:2]
    assert select_studies(skip=[names[0]]) == names[1:]
    with pytest.raises(TrainlabError, match="--only nope: no such study; choose from"):
        select_studies(only=["nope"])


def test_tour_records_a_failure_and_runs_the_rest(tmp_path):
    only = ["transfer", "cnn-ablations", "sentiment"]
    stub = StubStudies(tmp_path)
    index, failed = run_tour(tmp_path, only=only, run_study=stub)
    assert failed == ["cnn-ablations"]
    # Registry order, each study at the tour's scale and seeds into its own folder, nothing overwritten.
    names = ["cnn-ablations", "sentiment", "transfer"]
    assert stub.calls == [(name, "quick", 1, tmp_path / name, (), False) for name in names]

    cards = Cards(index.read_text()).cards
    assert list(cards) == names
    # Each study that wrote a report is linked, by a path that resolves from the index; the one
    # that failed is not, and says why.
    for name in ("sentiment", "transfer"):
        assert set(cards[name]["links"]) == {f"{name}/report.html"}
        assert (index.parent / cards[name]["links"][0]).is_file()
        assert f"{name} found something." in cards[name]["text"]
    assert cards["cnn-ablations"]["links"] == []
    assert "Failed: RuntimeError: boom (traceback in cnn-ablations/error.txt)" in cards["cnn-ablations"]["text"]
    assert "found something" not in cards["cnn-ablations"]["text"]
    assert "boom" in (tmp_path / "cnn-ablations" / "error.txt").read_text()
    # The headline figure is embedded (the index works copied away from the study folders).
    assert cards["sentiment"]["images"] == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert cards["transfer"]["images"] == []
    assert "2 of 3 studies done in" in index.read_text() and "; failed: cnn-ablations." in index.read_text()

    record = rundir.read_json(tmp_path / "tour.json")
    assert [(entry["name"], entry["status"]) for entry in record["studies"]] == [
        ("cnn-ablations", "failed"), ("sentiment", "done"), ("transfer", "done")]
    assert record["studies"][0]["error"] == "RuntimeError: boom"
    assert [entry.get("finding") for entry in record["studies"][1:]] == [
        "sentiment found something.", "transfer found something."]
    # The index is rewritten after every study: when transfer started, it was still pending.
    before_transfer = Cards(stub.index_before["transfer"]).cards
    assert "Not run yet." in before_transfer["transfer"]["text"]
    assert before_transfer["sentiment"]["links"] == ["sentiment/report.html"] * 2  # title and figure
    assert stub.index_before["cnn-ablations"] is None  # the first index is written after the first study


@pytest.mark.slow
def test_real_tour_of_two_studies_links_their_reports(trainlab, tmp_path):
    code, out, _ = trainlab("tour", "--only", "over-underfitting,optimizers", "--out", tmp_path)
    assert code == 0 and out.strip() == str(tmp_path / "index.html")
    cards = Cards((tmp_path / "index.html").read_text()).cards
    assert list(cards) == ["optimizers", "over-underfitting"]  # registry (name) order
    for name, card in cards.items():
        assert set(card["links"]) == {f"{name}/report.html"} and (tmp_path / card["links"][0]).is_file()
        summary = rundir.read_json(tmp_path / name / "summary.json")
        assert summary["seeds"] == 1 and summary["scale"] == "quick"
        assert summary["finding"] in card["text"]  # each card carries its own study's finding
    assert [entry["status"] for entry in rundir.read_json(tmp_path / "tour.json")["studies"]] == ["done", "done"]
