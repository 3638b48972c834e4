"""`trainlab tour`: every registered study at quick scale, offline, then one index.html linking them.

The tour runs each study with one seed (the studies' own quick settings, without the repeats that
give their intervals), so the whole curriculum fits in minutes on a laptop; `trainlab study NAME`
runs one with all its seeds. Studies are taken from the registry, so a new study joins the tour by
registering itself. One study failing does not stop the others: its error is recorded in
OUT/tour.json and on the index page, and the tour ends with a non-zero exit code.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainlab import registry, rundir, runs
from trainlab.errors import TrainlabError

ERROR_FILE = "error.txt"  # STUDY_DIR/error.txt: the traceback of a study that failed
TOUR_SCALE = "quick"
TOUR_SEEDS = 1


def default_tour_dir(root: str | os.PathLike = Path("runs")) -> Path:
    root = Path(root)
    return root / f"tour-{time.strftime('%Y%m%d-%H%M%S')}"


def select_studies(only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    """The registered studies in name order, restricted to `only` and without `skip`; unknown
    names are an error listing the choices."""
    import trainlab.studies  # noqa: F401 - registers every study

    names = [entry.name for entry in registry.studies.entries()]
    for option, given in (("--only", only), ("--skip", skip)):
        unknown = [name for name in given or [] if name not in names]
        if unknown:
            raise TrainlabError(f"{option} {','.join(unknown)}: no such study; choose from {', '.join(names)}")
    selected = [name for name in names if (not only or name in only) and name not in (skip or [])]
    if not selected:
        raise TrainlabError("--only/--skip leave no study to run; see `trainlab list studies`")
    return selected


def run_tour(
    out_dir: str | os.PathLike,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    seeds: int = TOUR_SEEDS,
    run_study: Callable[..., Any] | None = None,
) -> tuple[Path, list[str]]:
    """Run the selected studies into OUT_DIR/<study>/ and write OUT_DIR/index.html after each one.

    Returns the index's path and the names of the studies that failed. `run_study` (default
    `trainlab.studies.run`) is replaceable so that tests can drive the tour without training.
    """
    from trainlab import studies
    from trainlab.reports.index import write_index

    out_dir = Path(out_dir)
    run_study = run_study or studies.run
    names = select_studies(only, skip)
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = {entry.name: entry.summary for entry in registry.studies.entries()}
    record: dict[str, Any] = {"scale": TOUR_SCALE, "seeds": seeds, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "seconds": 0.0, "studies": [
                                  {"name": name, "summary": summaries[name], "status": "pending"} for name in names]}
    started = time.perf_counter()
    for index, entry in enumerate(record["studies"], start=1):
        name = entry["name"]
        runs.say(f"tour {index}/{len(names)}: {name} ({entry['summary']})")
        study_started = time.perf_counter()
        try:
            _, summary = run_study(name, TOUR_SCALE, seeds, out_dir / name, (), overwrite=False, quiet=False)
            entry.update(status="done", finding=summary.get("finding", ""))
        except KeyboardInterrupt:
            raise
        except Exception as error:  # noqa: BLE001 - one study's failure must not end the tour
            (out_dir / name).mkdir(parents=True, exist_ok=True)
            runs.atomic_write_text(out_dir / name / ERROR_FILE, traceback.format_exc())
            entry.update(status="failed", error=f"{type(error).__name__}: {error}".splitlines()[0])
        entry["seconds"] = round(time.perf_counter() - study_started, 1)
        record["seconds"] = round(time.perf_counter() - started, 1)
        runs.write_json(out_dir / rundir.TOUR_FILE, record)
        index_path = write_index(out_dir)
        outcome = "done" if entry["status"] == "done" else f"FAILED ({entry['error']})"
        runs.say(f"tour {index}/{len(names)}: {name} {outcome} in {entry['seconds']:.0f} s "
                 f"(tour so far {record['seconds']:.0f} s)")
    failed = [entry["name"] for entry in record["studies"] if entry["status"] == "failed"]
    return index_path, failed
