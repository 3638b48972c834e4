"""`trainlab list datasets` lists only what `trainlab train TASK --data NAME` accepts."""

from __future__ import annotations

from trainlab import registry
from trainlab.config import build_config


def listed(trainlab, kind: str) -> list[tuple[str, str]]:
    """(name, task) of each line of `trainlab list KIND`."""
    code, out, err = trainlab("list", kind)
    assert code == 0, err
    return [tuple(line.split()[:2]) for line in out.splitlines()]


def test_every_listed_dataset_is_accepted_by_train_of_its_task(trainlab):
    datasets = listed(trainlab, "datasets")
    assert ("digits", "image-classification") in datasets
    for name, task in datasets:
        config = build_config({"task": task, "data": {"source": name}})  # no "unknown task 'regression'"
        assert config.task == task and config.data.source == name
        assert registry.datasets.entry(name, task).name == name


def test_datasets_of_a_task_train_does_not_have_are_not_listed(trainlab):
    # polynomial feeds the bias-variance study's own fits; no `train` task reads it.
    assert registry.datasets.entry("polynomial").task not in registry.tasks.names()
    assert "polynomial" not in {name for name, _ in listed(trainlab, "datasets")}
