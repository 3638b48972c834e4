"""finetune.freeze=backbone without augmentation: the backbone's features are computed once and the
head trains on them, with the results of running the whole network every step."""

from __future__ import annotations

import json

import pytest

from trainlab import rundir
from trainlab.config import build_config
from trainlab.experiment import build_experiment, train_run
from trainlab.pipelines import build_pipeline
from trainlab.pipelines.image_classification import predict_probabilities
from trainlab.training.tasks import HeadOnlyTask

FROZEN = {"task": "image-classification", "data": {"source": "digits", "limit": 300},
          "model": {"name": "resnet_cifar", "depth": 8}, "finetune": {"freeze": "backbone"},
          "train": {"epochs": 3}, "optim": {"lr": 0.01}}


def settings(**finetune) -> dict:
    return {**FROZEN, "finetune": {**FROZEN["finetune"], **finetune}}


def test_cached_features_train_the_head_as_the_whole_network_would(tmp_path):
    cached = train_run(build_config(settings()), tmp_path / "cached", quiet=True)
    whole = train_run(build_config(settings(cache_features=False)), tmp_path / "whole", quiet=True)
    for key in ("test_loss", "test_accuracy", "val_loss", "best_epoch"):
        assert cached[key] == pytest.approx(whole[key], rel=1e-4, abs=1e-6), key
    # The checkpoint is the whole network: on raw test images it scores what the run reported.
    pipeline = build_pipeline(build_config(settings(cache_features=False)))
    images, labels = pipeline.data.test
    model = rundir.load_trained(tmp_path / "cached").model
    accuracy = (predict_probabilities(model, images, pipeline.eval_transform).argmax(1) == labels).double().mean()
    assert accuracy.item() == pytest.approx(cached["test_accuracy"], abs=1e-9)
    history = (tmp_path / "cached" / rundir.HISTORY_FILE).read_text().splitlines()
    assert len(history) == 4  # header + 3 epochs


@pytest.mark.parametrize("change", [
    {"finetune": {"freeze": "backbone", "unfreeze_epoch": 2}},  # the backbone trains later
    {"finetune": {"freeze": "backbone", "frozen_bn_eval": False}},  # its BatchNorm statistics move
    {"finetune": {"freeze": "none"}},
    {"data": {"source": "digits", "limit": 300, "augment": {"flip": True}}},  # features differ per epoch
])
def test_features_are_cached_only_where_the_backbone_is_fixed(change):
    experiment = build_experiment(build_config({**FROZEN, **change}), run_dir=None, quiet=True)
    assert not isinstance(experiment.pipeline.task, HeadOnlyTask)
    fixed = build_experiment(build_config(FROZEN), run_dir=None, quiet=True)
    assert isinstance(fixed.pipeline.task, HeadOnlyTask)
    inputs, _ = next(iter(fixed.pipeline.train_batches))
    assert inputs.shape[1:] == (64, 1, 1)  # resnet_cifar-8's pooled last stage, not 1x8x8 images


def test_the_run_says_what_it_cached(capsys, tmp_path):
    train_run(build_config({**FROZEN, "train": {"epochs": 1}}), tmp_path / "run")
    out = capsys.readouterr()
    said = out.out + out.err
    assert "frozen backbone, no augmentation: the features of every image (" in said
    assert json.loads((tmp_path / "run" / rundir.METRICS_FILE).read_text())["epochs"] == 1


def test_new_splits_drop_the_cached_features():
    """A study's cross-validation swaps the splits after the experiment is built: the features of
    the old splits must not stay, nor the head-only task that reads them."""
    from trainlab.studies.runner import use_fold

    experiment = build_experiment(build_config(FROZEN), run_dir=None, quiet=True)
    use_fold(experiment.pipeline, 0, 3)
    assert not isinstance(experiment.pipeline.task, HeadOnlyTask)
    inputs, _ = next(iter(experiment.pipeline.train_batches))
    assert inputs.shape[1:] == (1, 8, 8)  # images again


def test_the_head_only_task_copies_and_pickles_like_the_task_it_wraps():
    import copy
    import pickle

    from trainlab.training.tasks import ClassificationTask

    task = HeadOnlyTask(ClassificationTask(3, label_smoothing=0.1))
    for clone in (copy.deepcopy(task), pickle.loads(pickle.dumps(task))):
        assert clone.num_classes == 3 and clone.label_smoothing == 0.1
