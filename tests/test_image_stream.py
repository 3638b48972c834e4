"""Image folders streamed from disk (data.in_memory): the same examples, batches and results as
the images held in memory, batches that depend only on (seed, epoch, batch), DDP parts, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainlab.config import AugmentConfig, ImageDataConfig
from trainlab.data import image_stream
from trainlab.data.batching import TensorBatches
from trainlab.data.image_stream import FileImages, StreamingBatches
from trainlab.data.images import load_image_folder
from trainlab.data.transforms import Normalize, TrainTransform
from trainlab.errors import TrainlabError
from trainlab.training.distributed import ShardedBatches


def make_folder(root: Path, per_class: int = 12, size: int = 12, classes: int = 3) -> Path:
    """`root/c<k>/<i>.png`: random RGB pictures whose channel k is brighter (learnable)."""
    generator = np.random.default_rng(5)
    for label in range(classes):
        folder = root / f"c{label}"
        folder.mkdir(parents=True)
        for index in range(per_class):
            pixels = generator.integers(0, 90, (size, size, 3)).astype(np.uint8)
            pixels[..., label] += 120
            Image.fromarray(pixels).save(folder / f"{index:02d}.png")
    return root


def loaded(root: Path, **options) -> tuple:
    held = load_image_folder(ImageDataConfig(source=str(root), in_memory=True, **options))
    streamed = load_image_folder(ImageDataConfig(source=str(root), in_memory=False, **options))
    return held, streamed


def test_streamed_splits_are_the_held_splits_files_in_the_same_order(tmp_path):
    held, streamed = loaded(make_folder(tmp_path / "pets"), limit=20)
    for name in ("train", "val", "test"):
        images, labels = getattr(streamed, name)
        assert isinstance(images, FileImages) and images.shape == getattr(held, name)[0].shape
        assert torch.equal(labels, getattr(held, name)[1])
        assert torch.equal(images.decode(), getattr(held, name)[0])
    assert held.summary().splitlines()[-1].startswith("images held in memory: data.in_memory=true; ")
    assert streamed.summary().splitlines()[-1].startswith("images streamed from disk by ")


def test_file_images_index_like_a_tensor_and_decode_only_the_chosen_files(tmp_path):
    held, streamed = loaded(make_folder(tmp_path / "pets"))
    files, images = streamed.train[0], held.train[0]
    mask = torch.arange(len(images)) % 3 == 0
    for index in (slice(2, 7), np.array([4, 0, 9]), torch.tensor([1, 1, 5]), mask, 3):
        chosen = files[index]
        assert isinstance(chosen, FileImages)
        expected = images[index] if not isinstance(index, int) else images[index : index + 1]
        assert torch.equal(chosen.decode(), expected)


def test_auto_streams_only_what_would_not_fit_a_quarter_of_the_memory_available(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "pets")  # 36 images of 3x12x12 bytes decoded
    train = (12 - round(12 * 0.2) - round(12 * 0.1)) * 3  # 9 of each class train
    needed = 36 * 432 + train * 432  # with the training images' shuffled copy
    monkeypatch.setattr(image_stream, "memory_available", lambda: 4 * needed)
    splits = load_image_folder(ImageDataConfig(source=str(root)))
    assert isinstance(splits.train[0], torch.Tensor)
    assert "within data.in_memory=auto's budget" in splits.summary()
    monkeypatch.setattr(image_stream, "memory_available", lambda: 4 * needed - 4)
    splits = load_image_folder(ImageDataConfig(source=str(root)))
    assert isinstance(splits.train[0], FileImages)
    assert "over data.in_memory=auto's budget" in splits.summary()


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_batches_are_the_in_memory_batches_in_the_same_order(tmp_path, workers):
    _, streamed = loaded(make_folder(tmp_path / "pets"))
    files, labels = streamed.train
    plain = TensorBatches(files.decode(), labels, batch_size=5, shuffle=True, seed=4)
    streaming = StreamingBatches(files, labels, batch_size=5, shuffle=True, seed=4, workers=workers)
    assert len(streaming) == len(plain) == 6 and streaming.num_examples == 27
    for epoch in (0, 3):
        plain.set_epoch(epoch)
        streaming.set_epoch(epoch)
        for (images, batch_labels), (expected_images, expected_labels) in zip(streaming, plain, strict=True):
            assert torch.equal(images, expected_images) and torch.equal(batch_labels, expected_labels)


def test_augmented_batches_depend_only_on_seed_epoch_and_batch_not_on_workers_or_history(tmp_path):
    _, streamed = loaded(make_folder(tmp_path / "pets"))
    files, labels = streamed.train
    augment = AugmentConfig(flip=True, crop_padding=2, brightness=0.3)
    transform = TrainTransform(Normalize((0.5,) * 3, (0.25,) * 3), augment)

    def epoch_batches(batches: StreamingBatches, epoch: int) -> list[torch.Tensor]:
        batches.set_epoch(epoch)
        return [images for images, _ in batches]

    def streaming(workers: int) -> StreamingBatches:
        return StreamingBatches(files, labels, batch_size=8, shuffle=True, seed=1, transform=transform, workers=workers)

    trained = streaming(2)
    for epoch in range(3):  # a run that went through epochs 0, 1 and 2
        last = epoch_batches(trained, epoch)
    resumed = epoch_batches(streaming(1), 2)  # a run resumed at epoch 2, with another worker count
    assert all(torch.equal(one, other) for one, other in zip(last, resumed, strict=True))
    assert not torch.equal(epoch_batches(streaming(1), 1)[0], last[0])  # a new epoch: new draws
    # The augmentation really ran: the same images without it differ.
    plain = StreamingBatches(files, labels, batch_size=8, shuffle=True, seed=1,
                             transform=TrainTransform(transform.normalize, AugmentConfig()))
    assert not torch.equal(epoch_batches(plain, 2)[0], last[0])


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_read_only_their_parts_which_make_up_each_batch_with_the_right_weights(tmp_path, monkeypatch,
                                                                                     world_size):
    _, streamed = loaded(make_folder(tmp_path / "pets", per_class=3), val_fraction=0, test_fraction=0.3)
    files, labels = streamed.train  # 6 images: batches of 4 and 2
    streaming = StreamingBatches(files, labels, batch_size=4, shuffle=True, seed=2)
    streaming.set_epoch(1)
    wholes = list(streaming)
    sharded = [ShardedBatches(streaming, rank, world_size, training=True) for rank in range(world_size)]
    parts = [[(batch, shards.weight, shards.counted) for batch in shards] for shards in sharded]
    read, original = [], StreamingBatches._read

    def counting(self, batches):
        read.append(sum(len(batch) for batch in batches))
        return original(self, batches)

    monkeypatch.setattr(StreamingBatches, "_read", counting)
    list(ShardedBatches(streaming, 0, world_size, training=True))
    assert read == [len(torch.tensor_split(torch.arange(4), world_size)[0]) + 1]  # rank 0's parts only
    for index, (images, batch_labels) in enumerate(wholes):
        own = [parts[rank][index] for rank in range(world_size) if parts[rank][index][2]]
        assert torch.equal(torch.cat([batch[0] for batch, _, _ in own]), images)
        assert torch.equal(torch.cat([batch[1] for batch, _, _ in own]), batch_labels)
        weighted = sum(weight * batch[0].float().mean() for batch, weight, _ in (part[index] for part in parts))
        assert weighted / world_size == pytest.approx(images.float().mean().item())
    if world_size == 3:  # the last batch has two examples: the third rank steps on a stand-in
        batch, weight, counted = parts[2][-1]
        assert (weight, counted, len(batch[0])) == (0.0, False, 1)


def test_a_file_that_stops_decoding_is_left_out_with_a_warning_or_refused_under_strict(tmp_path, capsys):
    root = make_folder(tmp_path / "pets")
    bad = root / "c1" / "05.png"
    bad.write_bytes(bad.read_bytes()[:60])  # the header reads, the pixels do not
    streamed = load_image_folder(ImageDataConfig(source=str(root), in_memory=False, val_fraction=0,
                                                 test_fraction=0.25))
    pairs = [pair for pair in (streamed.train, streamed.test)]
    which = next(pair for pair in pairs if str(bad) in set(pair[0].paths))
    batches = StreamingBatches(*which, batch_size=4)
    seen = sum(len(labels) for _, labels in batches)
    assert seen == len(which[1]) - 1
    assert f"warning: skipping {bad}: cannot read the image" in capsys.readouterr().err
    strict = StreamingBatches(*which, batch_size=4, strict=True)
    with pytest.raises(TrainlabError, match=rf"^{bad}: cannot read the image \(.+\); remove it or set data.strict=false$"):
        list(strict)


def test_a_streamed_run_trains_exactly_like_a_held_run(trainlab, tmp_path):
    root = make_folder(tmp_path / "pets")
    results = {}
    for in_memory in ("true", "false"):
        run_dir = tmp_path / in_memory
        code, out, err = trainlab("train", "image-classification", "--data", root, "--out", run_dir,
                                  "train.epochs=2", "data.batch_size=8", f"data.in_memory={in_memory}")
        assert code == 0, err
        assert ("images streamed from disk" in out + err) == (in_memory == "false")
        metrics = json.loads((run_dir / "metrics.json").read_text())
        results[in_memory] = {key: value for key, value in metrics.items() if key.startswith(("test_", "val_"))}
    assert results["false"] == pytest.approx(results["true"], rel=1e-6)


def test_a_builtin_dataset_cannot_be_streamed_and_the_error_says_what_can(trainlab):
    code, _, err = trainlab("train", "image-classification", "--data", "digits", "data.in_memory=false")
    assert code == 2
    assert err.strip() == ("trainlab: error: data.in_memory=false: digits is a builtin dataset, read whole from its "
                           "archive; streaming is for image folders (leave data.in_memory=auto)")


def test_a_streamed_run_with_augmentation_resumed_midway_ends_as_an_unbroken_run(trainlab, tmp_path):
    import yaml

    root = make_folder(tmp_path / "pets")
    settings = ["data.batch_size=8", "data.in_memory=false", "data.augment.flip=true", "data.augment.crop_padding=2",
                "model.dropout=0.2"]
    interrupted, unbroken = tmp_path / "interrupted", tmp_path / "unbroken"
    # A run that ended after epoch 2 of 4 looks like one killed then: no metrics.json, last/ at epoch 2.
    assert trainlab("train", "image-classification", "--data", root, "--out", interrupted, "--quiet",
                    "train.epochs=2", *settings)[0] == 0
    saved = yaml.safe_load((interrupted / "config.yaml").read_text())
    saved["train"]["epochs"] = 4
    (interrupted / "config.yaml").write_text(yaml.safe_dump(saved))
    (interrupted / "metrics.json").unlink()
    code, _, err = trainlab("resume", interrupted, "--quiet")
    assert code == 0, err
    assert trainlab("train", "image-classification", "--data", root, "--out", unbroken, "--quiet",
                    "train.epochs=4", *settings)[0] == 0

    def final(run_dir: Path) -> dict:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        return {key: value for key, value in metrics.items() if key.startswith(("test_", "val_", "train_loss"))}

    assert final(interrupted) == final(unbroken)
    rows = [(run / "history.csv").read_text().splitlines() for run in (interrupted, unbroken)]
    assert [line.rsplit(",", 1)[0] for line in rows[0]] == [line.rsplit(",", 1)[0] for line in rows[1]]
