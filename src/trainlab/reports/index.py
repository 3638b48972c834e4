"""The tour's index.html: one card per study with its headline figure, its finding and a link to
its report, read from TOUR_DIR/tour.json and each study's directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trainlab import rundir, runs
from trainlab.reports import html

INDEX_FILE = "index.html"
HEADLINE_FIGURE = "headline.png"  # STUDY_DIR/plots/headline.png, written by the study report
STUDY_REPORT = "report.html"


def write_index(tour_dir: str | os.PathLike) -> Path:
    """Write TOUR_DIR/index.html; returns its path."""
    tour_dir = Path(tour_dir)
    record = rundir.read_json(tour_dir / rundir.TOUR_FILE)
    cards = [_card(tour_dir, entry) for entry in record["studies"]]
    done = sum(entry["status"] == "done" for entry in record["studies"])
    failed = [entry["name"] for entry in record["studies"] if entry["status"] == "failed"]
    status = f"{done} of {len(cards)} studies done in {record['seconds'] / 60:.1f} minutes"
    if failed:
        status += f"; failed: {', '.join(failed)}"
    body = [
        "<h1>trainlab tour</h1>",
        (f'<p class="note">Every study of the curriculum at {html.escape(record["scale"])} scale with '
         f'{record["seeds"]} seed(s), offline; started {html.escape(record["started"])}. {html.escape(status)}. '
         "Each study's report has its table, comparisons and figures; "
         "<code>trainlab study NAME --seeds 3</code> repeats one with more seeds for intervals.</p>"),
        f'<div class="cards">{"".join(cards)}</div>',
    ]
    path = tour_dir / INDEX_FILE
    runs.atomic_write_text(path, html.page("trainlab tour", "\n".join(body)))
    return path


def _card(tour_dir: Path, entry: dict[str, Any]) -> str:
    name = entry["name"]
    study_dir = tour_dir / name
    report = study_dir / STUDY_REPORT
    title = (f'<a href="{html.escape(f"{name}/{STUDY_REPORT}")}">{html.escape(name)}</a>'
             if report.is_file() else html.escape(name))
    parts = [f"<h2>{title}</h2>", f'<p class="note">{html.escape(entry.get("summary", ""))}</p>']
    if entry["status"] == "done":
        figure = study_dir / rundir.PLOTS_DIR / HEADLINE_FIGURE
        if figure.is_file():
            # Embedded, so the index shows its figures even when copied away from the study folders.
            parts.append(f'<a href="{html.escape(f"{name}/{STUDY_REPORT}")}">{html.image(figure, name)}</a>')
        parts.append(f'<p class="finding">{html.escape(entry.get("finding", ""))}</p>')
    elif entry["status"] == "failed":
        parts.append(f'<p class="failed">Failed: {html.escape(entry.get("error", ""))} '
                     f"(traceback in {html.escape(name)}/error.txt)</p>")
    else:
        parts.append('<p class="note">Not run yet.</p>')
    if "seconds" in entry:
        parts.append(f'<p class="note">{entry["seconds"]:.0f} s</p>')
    return f'<div class="card">{"".join(parts)}</div>'
