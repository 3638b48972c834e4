"""Recurrent text classifiers: padding never changes a sequence's logits, the outputs equal torch's
packed bidirectional RNNs with the same weights, gradients, pretrained embeddings, a toy task."""

from __future__ import annotations

import itertools

import pytest
import torch
from pydantic import ValidationError
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from trainlab import registry
from trainlab.data.sequence_batching import PackedSequences, PaddedBatches
from trainlab.models import TextSpec, build_model
from trainlab.models.pooling import AttentionPooling
from trainlab.models.rnn import (
    GRUClassifierConfig,
    LSTMClassifierConfig,
    RecurrentClassifier,
    RNNClassifierConfig,
)

VOCAB = 23
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
POOLINGS = ["last", "mean", "max", "attention", "concat"]
TORCH_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a second thread only waits for work, and on a busy machine its spinning cost
    these tests 5x their time (8 s against 47 s measured next to another job)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def padded(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (tokens (B, L), lengths (B,)) exactly as the data layer pads a batch."""
    return PackedSequences.from_sequences(sequences).pad(torch.arange(len(sequences)))


def tiny_model(cell: str, nonlinearity: str = "tanh", **options) -> RecurrentClassifier:
    torch.manual_seed(0)
    options = {"embedding_dim": 6, "hidden_size": 5, **options}
    return RecurrentClassifier(VOCAB, 3, cell, nonlinearity=nonlinearity, **options).eval()


def random_sequence(length: int, generator: torch.Generator) -> list[int]:
    return torch.randint(2, VOCAB, (length,), generator=generator).tolist()


@pytest.mark.parametrize("packing", ["never", "always"])
@pytest.mark.parametrize(("cell", "nonlinearity"), CELLS)
def test_padding_never_changes_the_logits(cell, nonlinearity, packing):
    """The issue's test: a sequence gives the same logits alone and batched between a longer and a
    shorter one, for every cell, direction, depth and pooling; even garbage ids in the padded
    positions change nothing (the model must not rely on the padding embedding being zero)."""
    generator = torch.Generator().manual_seed(1)
    sequence = random_sequence(6, generator)
    longer, shorter = random_sequence(11, generator), random_sequence(2, generator)
    alone_tokens, alone_lengths = padded([sequence])
    tokens, lengths = padded([longer, sequence, shorter])
    garbage = torch.where(tokens == 0, torch.randint(2, VOCAB, tokens.shape, generator=generator), tokens)
    for bidirectional, layers, pooling in itertools.product([False, True], [1, 2], POOLINGS):
        model = tiny_model(cell, nonlinearity, bidirectional=bidirectional, layers=layers, pooling=pooling,
                           packing=packing)
        case = f"{cell}/{nonlinearity} bidirectional={bidirectional} layers={layers} pooling={pooling}"
        with torch.no_grad():
            alone = model(alone_tokens, alone_lengths)[0]
            batched = model(tokens, lengths)
            with_garbage = model(garbage, lengths)
            # The shorter neighbour alone, too: padding sits in front of nothing of it either.
            shorter_alone = model(*padded([shorter]))[0]
        torch.testing.assert_close(batched[1], alone, atol=1e-5, rtol=0, msg=case)
        torch.testing.assert_close(batched[2], shorter_alone, atol=1e-5, rtol=0, msg=case)
        torch.testing.assert_close(with_garbage, batched, atol=1e-5, rtol=0, msg=case)


QUIET = 1  # a token whose embedding silences the first layer (random_sequence never draws it)


def hostile(model: RecurrentClassifier) -> RecurrentClassifier:
    """Recurrent weights 3 I: a relu state triples at every step. Layer 0 is driven up by a
    positive bias, and reads unit k of the embedding into unit k; later layers read their input
    with weight 1 and a negative bias. The texts beside (all QUIET, whose embedding is -10) keep
    every state at 0 through all their steps, while a short text's padded steps, fed the zero
    padding embedding, grow its relu state to inf."""
    hidden = model.encoder.hidden_size
    directions = 2 if model.encoder.bidirectional else 1
    with torch.no_grad():
        model.embedding.weight[QUIET] = 0.0
        model.embedding.weight[QUIET, :hidden] = -10.0
        for index, layer in enumerate(model.encoder.layers):
            for name, weight in layer.named_parameters():
                blocks = weight.shape[0] // hidden
                if "weight_hh" in name:
                    weight.copy_(3 * torch.eye(hidden).repeat(blocks, 1))
                elif "weight_ih" in name and index == 0:
                    weight.copy_(torch.eye(hidden, weight.shape[1]).repeat(blocks, 1))
                elif "weight_ih" in name:
                    weight.copy_(torch.eye(hidden).repeat(blocks, directions))
                else:  # the two biases add up to +0.5 in layer 0, -0.5 after
                    weight.fill_(0.25 if index == 0 else -0.25)
    return model


def gradients_of_first_row(model: RecurrentClassifier, tokens, lengths) -> dict[str, torch.Tensor]:
    """d(sum of the first row's logits)/d(every parameter): the gradient that row sends."""
    model.zero_grad()
    model(tokens, lengths)[0].sum().backward()
    return {name: weight.grad.clone() for name, weight in model.named_parameters() if weight.grad is not None}


@pytest.mark.parametrize("unrolled", [False, True])
@pytest.mark.parametrize(("cell", "nonlinearity"), CELLS)
def test_padding_never_reaches_the_gradients(cell, nonlinearity, unrolled):
    """The issue's test: with hostile weights, a text's gradients are the same alone and batched
    beside longer texts, for every cell, direction, depth and pooling, fused or step by step.
    Before the fix a relu RNN's W_hh gradient was inf * 0 = NaN once the padding overflowed."""
    text = random_sequence(4, torch.Generator().manual_seed(2))
    longer, longest = [QUIET] * 60, [QUIET] * 120
    alone_tokens, alone_lengths = padded([text])
    tokens, lengths = padded([text, longest, longer])
    for bidirectional, layers, pooling in itertools.product([False, True], [1, 2], POOLINGS):
        model = hostile(tiny_model(cell, nonlinearity, bidirectional=bidirectional, layers=layers,
                                   pooling=pooling, cell_options={"unrolled": unrolled}))
        case = f"{cell}/{nonlinearity} bidirectional={bidirectional} layers={layers} pooling={pooling}"
        alone = gradients_of_first_row(model, alone_tokens, alone_lengths)
        batched = gradients_of_first_row(model, tokens, lengths)
        assert alone.keys() == batched.keys(), case
        for name, gradient in alone.items():
            assert gradient.isfinite().all(), f"{case}: {name} alone"
            # Hostile weights make large gradients: float32 error is relative to the largest.
            error = (batched[name] - gradient).abs().max().item()
            assert error <= 1e-5 * (1 + gradient.abs().max().item()), f"{case}: {name} differs by {error}"


def test_the_padding_check_catches_a_model_that_reads_padding():
    """Torch's bidirectional LSTM on the padded batch, read at the last padded step (the classic
    bug), gives a different answer next to a longer sequence: the check above has teeth."""
    torch.manual_seed(0)
    embedding, lstm = nn.Embedding(VOCAB, 6, padding_idx=0), nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    generator = torch.Generator().manual_seed(1)
    sequence, longer = random_sequence(6, generator), random_sequence(11, generator)
    with torch.no_grad():
        alone = lstm(embedding(padded([sequence])[0]))[0][0, -1]
        batched = lstm(embedding(padded([longer, sequence])[0]))[0][1, -1]
    assert (alone - batched).abs().max() > 1e-3


def torch_reference(model: RecurrentClassifier, cell: str, nonlinearity: str) -> nn.RNNBase:
    """torch's multi-layer (bi)RNN with the model's weights: layer k's `_l0` becomes `_lk`, the
    backward direction's weights the `_reverse` ones."""
    encoder = model.encoder
    options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    reference = TORCH_CELLS[cell](model.embedding.embedding_dim, encoder.hidden_size, len(encoder.layers),
                                  batch_first=True, bidirectional=encoder.bidirectional, **options)
    state = {}
    for index, layer in enumerate(encoder.layers):
        for direction, suffix in ((layer.forward_rnn, ""), (layer.backward_rnn, "_reverse")):
            if direction is not None:
                for name, value in direction.state_dict().items():
                    state[name.replace("_l0", f"_l{index}{suffix}")] = value
    reference.load_state_dict(state)  # strict: every weight of the reference is set
    return reference.eval()


@pytest.mark.parametrize("packing", ["never", "always"])
@pytest.mark.parametrize(("cell", "nonlinearity"), CELLS)
def test_outputs_equal_torch_packed_bidirectional_rnn(cell, nonlinearity, packing):
    generator = torch.Generator().manual_seed(2)
    tokens, lengths = padded([random_sequence(length, generator) for length in (4, 9, 1, 7, 9)])
    for bidirectional, layers in itertools.product([False, True], [1, 2]):
        model = tiny_model(cell, nonlinearity, bidirectional=bidirectional, layers=layers, packing=packing)
        reference = torch_reference(model, cell, nonlinearity)
        with torch.no_grad():
            embedded = model.embedding(tokens)
            packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
            packed_outputs, final_state = reference(packed)
            expected_outputs = pad_packed_sequence(packed_outputs, batch_first=True)[0]
            final_hidden = final_state[0] if cell == "lstm" else final_state  # (layers * D, B, H)
            # `last` pooling: the top layer's final state of each direction.
            expected_features = torch.cat(list(final_hidden[-2 if bidirectional else -1 :]), dim=1)
            expected_logits = model.head(expected_features)
            outputs = model.forward_sequence(tokens, lengths)
            logits = model(tokens, lengths)
        case = f"{cell}/{nonlinearity} bidirectional={bidirectional} layers={layers}"
        torch.testing.assert_close(outputs, expected_outputs, atol=1e-5, rtol=0, msg=case)
        torch.testing.assert_close(logits, expected_logits, atol=1e-5, rtol=0, msg=case)


def test_poolings_against_hand_computed_values():
    outputs = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [50.0, 60.0]],
                            [[-1.0, 0.5], [7.0, 8.0], [2.0, -3.0]]])  # (B=2, L=3, F=2)
    lengths = torch.tensor([2, 3])
    model = tiny_model("gru", hidden_size=1, bidirectional=True, pooling="mean")
    torch.testing.assert_close(model.pooling(outputs, lengths), torch.tensor([[2.0, 1.0], [8 / 3, 5.5 / 3]]))
    model = tiny_model("gru", hidden_size=1, bidirectional=True, pooling="max")
    torch.testing.assert_close(model.pooling(outputs, lengths), torch.tensor([[3.0, 4.0], [7.0, 8.0]]))
    # last: forward half at the true last step, backward half at step 0.
    model = tiny_model("gru", hidden_size=1, bidirectional=True, pooling="last")
    torch.testing.assert_close(model.pooling(outputs, lengths), torch.tensor([[3.0, -2.0], [2.0, 0.5]]))
    # concat (ULMFiT's): last, max and mean side by side, and a head that reads all three.
    model = tiny_model("gru", hidden_size=1, bidirectional=True, pooling="concat")
    torch.testing.assert_close(model.pooling(outputs, lengths), torch.tensor(
        [[3.0, -2.0, 3.0, 4.0, 2.0, 1.0], [2.0, 0.5, 7.0, 8.0, 8 / 3, 5.5 / 3]]))
    assert model.head[-1].in_features == 6
    attention = AttentionPooling(2, 3)
    weights = attention.weights(outputs, lengths)
    scores = attention.score(torch.tanh(attention.projection(outputs))).squeeze(-1)
    expected_first = torch.softmax(scores[0, :2], dim=0)
    assert weights[0, 2] == 0.0  # exactly zero, not merely small
    torch.testing.assert_close(weights[0, :2], expected_first)
    torch.testing.assert_close(weights[1], torch.softmax(scores[1], dim=0))
    torch.testing.assert_close(attention(outputs, lengths)[0], expected_first @ outputs[0, :2])


SPEC = TextSpec(vocab_size=VOCAB, num_classes=5)  # 5 classes: catches a hard-coded binary head


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_every_parameter_gets_a_finite_gradient(name):
    config_class = registry.models.entry(name, "text-classification").config_class
    tokens, lengths = padded([[2, 3, 4], [5, 6, 7, 8, 9, 10], [11]])
    for pooling in POOLINGS:
        torch.manual_seed(0)
        config = config_class(embedding_dim=6, hidden_size=5, layers=2, bidirectional=True, dropout=0.1,
                              embedding_dropout=0.1, head_dropout=0.1, pooling=pooling)
        model = build_model(config, SPEC, task="text-classification")
        logits = model(tokens, lengths)
        assert logits.shape == (3, 5)
        nn.functional.cross_entropy(logits, torch.tensor([0, 4, 2])).backward()
        for parameter_name, parameter in model.named_parameters():
            assert parameter.grad is not None, f"{name}/{pooling}: {parameter_name} got no gradient"
            assert torch.isfinite(parameter.grad).all(), f"{name}/{pooling}: {parameter_name} non-finite"
        assert model.embedding.weight.grad[0].eq(0).all()  # the padding row is never trained
        model.eval()
        with torch.no_grad():
            assert torch.equal(model(tokens, lengths), model.forward_head(model.forward_features(tokens, lengths)))


def test_registered_names_and_configs():
    assert [LSTMClassifierConfig().name, GRUClassifierConfig().name, RNNClassifierConfig().name] == [
        "lstm", "gru", "rnn"]
    for name, config_class in (("rnn", RNNClassifierConfig), ("lstm", LSTMClassifierConfig),
                               ("gru", GRUClassifierConfig)):
        assert registry.models.entry(name, "text-classification").config_class is config_class
    model = build_model(RNNClassifierConfig(nonlinearity="relu", hidden_size=4), SPEC, task="text-classification")
    assert model.encoder.layers[0].forward_rnn.nonlinearity == "relu"
    assert model.embedding.embedding_dim == 128  # the default without pretrained vectors
    with pytest.raises(ValidationError, match=r"model.dropout \(0.3\) applies between recurrent layers and "
                                              r"model.layers is 1; set model.layers >= 2"):
        LSTMClassifierConfig(dropout=0.3)
    with pytest.raises(ValueError, match="^model.freeze_embeddings keeps pretrained vectors fixed, but there "
                                         "are none; set data.embeddings=path/to/glove.txt"):
        build_model(LSTMClassifierConfig(freeze_embeddings=True), SPEC, task="text-classification")
    with pytest.raises(ValueError, match=r"^lengths must lie in 1..3 \(the padded width of the batch\), "
                                         r"got 0..3; give each text at least one token$"):
        model(torch.zeros(2, 3, dtype=torch.int64), torch.tensor([0, 3]))


@pytest.mark.parametrize("freeze", [True, False])
def test_pretrained_embeddings_are_copied_and_stay_frozen_when_asked(freeze):
    vectors = torch.randn(VOCAB, 7, generator=torch.Generator().manual_seed(3))
    vectors[0] = 0.0
    spec = TextSpec(vocab_size=VOCAB, num_classes=2, embeddings=vectors)
    model = build_model(LSTMClassifierConfig(hidden_size=4, freeze_embeddings=freeze), spec,
                        task="text-classification")
    assert model.embedding.embedding_dim == 7  # follows the vectors when embedding_dim is unset
    assert torch.equal(model.embedding.weight, vectors)
    assert model.embedding.weight.data_ptr() != vectors.data_ptr()  # a copy: training leaves the spec alone
    assert model.embedding.weight.requires_grad is not freeze
    optimizer = torch.optim.Adam([parameter for parameter in model.parameters() if parameter.requires_grad])
    tokens, lengths = padded([[2, 3, 4], [5, 6]])
    nn.functional.cross_entropy(model(tokens, lengths), torch.tensor([0, 1])).backward()
    optimizer.step()
    assert torch.equal(model.embedding.weight, vectors) is freeze
    assert torch.equal(model.embedding.weight[0], vectors[0])  # padding row fixed either way
    assert build_model(LSTMClassifierConfig(embedding_dim=7), spec, task="text-classification").embedding.embedding_dim == 7
    with pytest.raises(ValueError, match=r"^model.embedding_dim \(8\) differs from the 7-d pretrained vectors "
                                         r"of data.embeddings; leave model.embedding_dim unset"):
        build_model(LSTMClassifierConfig(embedding_dim=8), spec, task="text-classification")


def token_five_task(count: int, seed: int) -> tuple[PackedSequences, torch.Tensor]:
    """Sequences of 3-20 ids; class 1 when id 5 appears anywhere (half of them), else 0."""
    generator = torch.Generator().manual_seed(seed)
    sequences, labels = [], []
    for index in range(count):
        length = int(torch.randint(3, 21, (1,), generator=generator))
        sequence = torch.randint(6, VOCAB, (length,), generator=generator)
        sequence[sequence == 6] = int(torch.randint(2, 5, (1,), generator=generator))  # ids 2-4 appear too
        if index % 2:
            sequence[int(torch.randint(length, (1,), generator=generator))] = 5
        sequences.append(sequence)
        labels.append(index % 2)
    return PackedSequences.from_sequences(sequences), torch.tensor(labels)


def test_a_tiny_bilstm_learns_whether_a_token_appears():
    """Reading the true last step of both directions, a tiny BiLSTM learns the task in seconds."""
    torch.manual_seed(0)
    train, train_labels = token_five_task(512, seed=0)
    test, test_labels = token_five_task(256, seed=1)
    model = RecurrentClassifier(VOCAB, 2, "lstm", embedding_dim=8, hidden_size=16, bidirectional=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    batches = PaddedBatches(train, train_labels, batch_size=32, shuffle=True, seed=0)
    for epoch in range(3):
        batches.set_epoch(epoch)
        for tokens, lengths, labels in batches:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(tokens, lengths), labels).backward()
            optimizer.step()
    model.eval()
    tokens, lengths = test.pad(torch.arange(len(test)))
    with torch.no_grad():
        accuracy = (model(tokens, lengths).argmax(dim=1) == test_labels).float().mean().item()
    assert accuracy > 0.9
