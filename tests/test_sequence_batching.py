"""Padded batches: padding against torch's pad_sequence, each example once per epoch, less padding
with bucketing, and the same batches for the same (seed, epoch)."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from trainlab.data.sequence_batching import PackedSequences, PaddedBatches, padded_positions


def random_sequences(count: int, seed: int = 0, longest: int = 400) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (count,), generator=generator)
    return [torch.randint(2, 1000, (int(length),), generator=generator) for length in lengths]


def test_packing_and_padding_match_pad_sequence():
    sequences = random_sequences(37, longest=30)
    packed = PackedSequences.from_sequences(sequences)
    assert len(packed) == 37
    assert packed.lengths.tolist() == [len(sequence) for sequence in sequences]
    assert all(torch.equal(packed[index], sequences[index]) for index in range(37))
    indices = torch.tensor([5, 0, 36, 12])
    tokens, lengths = packed.pad(indices)
    chosen = [sequences[index] for index in indices.tolist()]
    assert torch.equal(tokens, pad_sequence(chosen, batch_first=True, padding_value=0))
    assert tokens.dtype == torch.int64 and lengths.tolist() == [len(sequences[i]) for i in indices.tolist()]
    head = packed.head(3)
    assert len(head) == 3 and torch.equal(head[2], sequences[2])
    assert len(head.tokens) == int(head.lengths.sum())


def test_from_flat_checks_lengths():
    packed = PackedSequences.from_flat(torch.arange(6), [2, 0, 4])
    assert packed.offsets.tolist() == [0, 2, 2, 6]
    assert packed[1].tolist() == [] and packed[2].tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="lengths add up to 5, but there are 6 tokens"):
        PackedSequences.from_flat(torch.arange(6), [2, 3])


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
def test_every_example_once_per_epoch_and_labels_follow(bucket, drop_last):
    sequences = random_sequences(1000, longest=60)
    labels = torch.arange(1000)  # the label of an example is its index
    batches = PaddedBatches(sequences, labels, batch_size=32, shuffle=True, seed=3, bucket=bucket,
                            drop_last=drop_last, chunk_batches=5)
    for epoch in range(3):
        batches.set_epoch(epoch)
        seen = []
        served = list(batches)
        assert len(served) == len(batches) == (31 if drop_last else 32)
        for tokens, lengths, batch_labels in served:
            for row, length, label in zip(tokens, lengths.tolist(), batch_labels.tolist()):
                assert torch.equal(row[:length], sequences[label]) and not row[length:].any()
            assert tokens.shape[1] == int(lengths.max())
            if drop_last:
                assert len(batch_labels) == 32
            seen.extend(batch_labels.tolist())
        if drop_last:
            assert len(seen) == len(set(seen)) == 992
        else:
            assert sorted(seen) == list(range(1000))


def test_bucketing_cuts_padding():
    sequences = random_sequences(2000, longest=400)
    labels = torch.zeros(2000, dtype=torch.int64)
    lengths = PackedSequences.from_sequences(sequences).lengths
    plain = PaddedBatches(sequences, labels, 64, shuffle=True, seed=0, bucket=False)
    bucketed = PaddedBatches(sequences, labels, 64, shuffle=True, seed=0, bucket=True)
    plain_padding, plain_total = padded_positions(lengths, plain.batch_indices())
    bucketed_padding, bucketed_total = padded_positions(lengths, bucketed.batch_indices())
    assert plain_total - plain_padding == bucketed_total - bucketed_padding == int(lengths.sum())
    # Uniform lengths 1..400 in random batches of 64 pad about half; sorted chunks almost none.
    assert plain_padding > 0.4 * plain_total
    assert bucketed_padding < 0.1 * plain_padding


def test_padded_positions_by_hand():
    lengths = torch.tensor([1, 2, 3, 4])
    # batch [0, 3]: 2 x 4 positions, 5 real; batch [1, 2]: 2 x 3, 5 real.
    assert padded_positions(lengths, [torch.tensor([0, 3]), torch.tensor([1, 2])]) == (4, 14)


@pytest.mark.parametrize("bucket", [True, False])
def test_same_seed_and_epoch_same_batches_so_resume_is_exact(bucket):
    sequences = random_sequences(500, longest=50)
    labels = torch.arange(500)

    def epoch_batches(batches: PaddedBatches, epoch: int) -> list[list[int]]:
        batches.set_epoch(epoch)
        return [batch_labels.tolist() for _, _, batch_labels in batches]

    uninterrupted = PaddedBatches(sequences, labels, 16, shuffle=True, seed=7, bucket=bucket)
    history = [epoch_batches(uninterrupted, epoch) for epoch in range(4)]
    resumed = PaddedBatches(sequences, labels, 16, shuffle=True, seed=7, bucket=bucket)
    assert epoch_batches(resumed, 3) == history[3]
    assert epoch_batches(resumed, 1) == history[1]
    assert history[0] != history[1]
    other_seed = PaddedBatches(sequences, labels, 16, shuffle=True, seed=8, bucket=bucket)
    assert epoch_batches(other_seed, 0) != history[0]


def test_without_shuffle_the_order_is_kept():
    sequences = random_sequences(50, longest=20)
    batches = PaddedBatches(sequences, torch.arange(50), 8, shuffle=False, bucket=True)
    assert [labels.tolist() for _, _, labels in batches] == [list(range(start, min(start + 8, 50)))
                                                             for start in range(0, 50, 8)]
    assert batches.num_examples == 50 and len(batches) == 7


def test_bad_arguments():
    with pytest.raises(ValueError, match="3 sequences but 2 labels"):
        PaddedBatches([[1], [2], [3]], torch.zeros(2), 2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        PaddedBatches([[1]], torch.zeros(1), 0)
