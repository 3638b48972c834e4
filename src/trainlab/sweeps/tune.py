"""`trainlab tune TASK --data X --budget 10m`: a sweep with no space file. The task's built-in space
(`Pipeline.tuning_space`: learning rate, width, dropout, window, ...), TPE with median pruning,
trials chosen on the validation metric, within a time budget.

The whole search is written to OUT/tune.yaml first, a `trainlab sweep` config (the run's config
plus the sweep section), so that it can be rerun, continued or edited:
`trainlab sweep --config OUT/tune.yaml --trials 40 --out OUT`. The best trial is the final run: a
run with its settings and seed trains to the same weights, so it is not trained twice; OUT/best
names it and `trainlab predict/evaluate/forecast OUT/best` use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from trainlab import registry, runs
from trainlab.config import apply_overrides, build_config
from trainlab.errors import TrainlabError

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """'90s', '10m', '1.5h' or plain seconds ('600') as seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise TrainlabError(f"--budget {text!r}: give a positive time such as 90s, 10m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def builtin_space(base: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The task's tuning space restricted to the options the config's model has, and the keys
    left out (a model without dropout is not searched over dropout)."""
    config = build_config(base)
    space, left_out = {}, []
    for key, declared in registry.tasks.get(config.task).tuning_space.items():
        probe = declared["values"][0] if declared["type"] == "choice" else declared["low"]
        try:
            build_config(apply_overrides(base, [(key, probe)]))
        except TrainlabError:
            left_out.append(key)
            continue
        space[key] = declared
    return space, left_out


def write_tune_config(base: dict[str, Any], out: Path, quiet: bool) -> Path:
    """OUT/tune.yaml: the config every trial shares plus the built-in sweep section."""
    space, left_out = builtin_space(base)
    if not space:
        raise TrainlabError(f"the {base['task']} task's model has none of the options trainlab tunes; "
                            f"write a sweep config and run trainlab sweep")
    if left_out and not quiet:
        runs.say(f"not searched (the model has no such option): {', '.join(left_out)}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tune.yaml"
    # The options as given, not the validated config: what is derived from the data where the
    # config says nothing (the text recipe where no model is named) is derived again by each trial.
    runs.atomic_write_text(path, yaml.safe_dump({**base, "sweep": {"space": space}}, sort_keys=False))
    return path


def point_to_best(out: Path, best_run_dir: str) -> Path:
    """OUT/best: a symbolic link to the best trial's run directory (relative, so OUT can move)."""
    link = out / "best"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(best_run_dir, target_is_directory=True)
    return link
