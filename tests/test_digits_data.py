"""The digits dataset, stratified splits and tensor batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from trainlab.data import TensorBatches, load_digits, stratified_split


def test_digits_are_sklearns_standardised_with_training_statistics():
    data = load_digits()
    reference = sklearn_digits()
    images = torch.cat([data.train[0], data.val[0], data.test[0]])
    labels = torch.cat([data.train[1], data.val[1], data.test[1]])
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert data.train[0].mean().item() == pytest.approx(0, abs=1e-5)
    assert data.train[0].std(unbiased=False).item() == pytest.approx(1, abs=1e-4)
    # Undo the standardisation: the raw images and labels are sklearn's, each exactly once.
    train, _, _ = stratified_split(reference.target, 0.1, 0.2, seed=0)
    raw_train = reference.images[train]
    restored = images.numpy()[:, 0] * raw_train.std() + raw_train.mean()
    ours = sorted(map(tuple, np.round(restored.reshape(1797, 64)).astype(int).tolist()))
    theirs = sorted(map(tuple, reference.images.reshape(1797, 64).astype(int).tolist()))
    assert ours == theirs
    assert np.bincount(labels.numpy()).tolist() == np.bincount(reference.target).tolist()


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


def test_limit_keeps_the_first_examples_of_each_split():
    data = load_digits().limited(7)
    assert [len(pair[1]) for pair in (data.train, data.val, data.test)] == [7, 7, 7]
    assert data.summary() == "digits: train 7, val 7, test 7; 10 classes; inputs 1x8x8"


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
