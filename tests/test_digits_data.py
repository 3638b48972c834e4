"""The digits dataset, stratified splits and tensor batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from trainlab.config import ImageDataConfig
from trainlab.data import TensorBatches, stratified_split
from trainlab.data.images import digits


def test_digits_are_sklearns_scaled_to_unit_range_and_split_by_class():
    data = digits(ImageDataConfig(source="digits"))
    reference = sklearn_digits()
    images = torch.cat([data.train[0], data.val[0], data.test[0]])
    labels = torch.cat([data.train[1], data.val[1], data.test[1]])
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    # Every sklearn image and label exactly once, scaled from 0..16 to [0, 1].
    ours = sorted(zip(labels.tolist(), map(tuple, (images * 16).round().int().reshape(1797, 64).tolist())))
    theirs = sorted(zip(reference.target.tolist(), map(tuple, reference.images.reshape(1797, 64).astype(int).tolist())))
    assert ours == theirs
    assert [len(pair[1]) for pair in (data.train, data.val, data.test)] == [1259, 179, 359]  # 20% and 10% of each class, rounded
    # Stratified: each class keeps its share in the test split (to rounding).
    for label, count in enumerate(np.bincount(reference.target)):
        assert abs((data.test[1] == label).sum().item() - count * 0.2) <= 1


def test_stratified_split_is_disjoint_complete_proportional_and_seeded():
    labels = np.repeat(np.arange(5), [40, 60, 80, 100, 21])
    train, val, test = stratified_split(labels, 0.1, 0.25, seed=3)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(labels)))
    for label, count in zip(range(5), [40, 60, 80, 100, 21]):
        assert abs((labels[test] == label).sum() - count * 0.25) <= 1
        assert abs((labels[val] == label).sum() - count * 0.1) <= 1
    again = stratified_split(labels, 0.1, 0.25, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(test, stratified_split(labels, 0.1, 0.25, seed=4)[2])
    assert len(stratified_split(labels, 0.0, 0.25, seed=3)[1]) == 0


def test_limit_keeps_a_random_sample_of_each_split():
    full = digits(ImageDataConfig(source="digits"))
    data = digits(ImageDataConfig(source="digits", limit=30))
    assert [len(pair[1]) for pair in (data.train, data.val, data.test)] == [30, 30, 30]
    assert torch.equal(data.train[0], full.train[0][:30])
    assert len(set(data.train[1].tolist())) > 5  # shuffled: not the first class or two
    assert data.summary() == "digits: train 30, val 30, test 30; 10 classes; inputs 1x8x8"


def test_batches_slice_in_order_and_shuffle_by_seed_and_epoch():
    values = torch.arange(10)
    assert [b[0].tolist() for b in TensorBatches(values, batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(TensorBatches(values, batch_size=4, drop_last=True)) == 2

    def order(seed: int, epoch: int) -> list[int]:
        batches = TensorBatches(values, values * 10, batch_size=3, shuffle=True, seed=seed)
        batches.set_epoch(epoch)
        chunks = list(batches)
        assert all(torch.equal(b * 10, c) for b, c in chunks)  # tensors stay aligned
        return torch.cat([b for b, _ in chunks]).tolist()

    assert sorted(order(0, 0)) == list(range(10))
    assert order(0, 3) == order(0, 3)  # a new object, same (seed, epoch): a resumed run's batches
    assert order(0, 3) != order(0, 4) and order(0, 3) != order(1, 3)


def test_batches_reject_misaligned_tensors():
    with pytest.raises(ValueError, match=r"same length, got lengths \[3, 4\]"):
        TensorBatches(torch.zeros(3), torch.zeros(4), batch_size=2)
