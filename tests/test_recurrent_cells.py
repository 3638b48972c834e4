"""The step-by-step recurrent cells against torch's fused nn.LSTM/nn.GRU/nn.RNN, and their options."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainlab.models.cell_options import build_recurrent, lstm_gate_rows, set_forget_bias
from trainlab.models.recurrent_cells import (
    VARIANTS,
    UnrolledGRU,
    UnrolledLSTM,
    UnrolledRNN,
    WeightDropLSTM,
    lstm_gates,
)

TORCH = {"lstm": (nn.LSTM, UnrolledLSTM), "gru": (nn.GRU, UnrolledGRU), "rnn": (nn.RNN, UnrolledRNN)}


def _pair(cell: str, layers: int = 2, batch_first: bool = True, **options):
    torch_class, unrolled_class = TORCH[cell]
    torch.manual_seed(0)
    reference = torch_class(5, 7, num_layers=layers, batch_first=batch_first, **options).double()
    torch.manual_seed(0)
    ours = unrolled_class(5, 7, num_layers=layers, batch_first=batch_first, **options).double()
    return reference, ours


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_unrolled_equals_torch_outputs_and_gradients(cell, batch_first):
    reference, ours = _pair(cell, batch_first=batch_first)
    # Same seed, same registration order: the initial weights are torch's own draw.
    for name, parameter in reference.named_parameters():
        assert torch.equal(parameter, ours.get_parameter(name)), name
    with torch.no_grad():  # random weights, larger than the init, so that the gates saturate somewhat
        for parameter in reference.parameters():
            parameter.normal_(0, 0.6)
    ours.load_state_dict(reference.state_dict())
    shape = (3, 6, 5) if batch_first else (6, 3, 5)
    inputs = torch.randn(shape, dtype=torch.float64)
    state = torch.randn(2, 3, 7, dtype=torch.float64)
    hx = (state, torch.randn(2, 3, 7, dtype=torch.float64)) if cell == "lstm" else state
    inputs_a, inputs_b = inputs.clone().requires_grad_(), inputs.clone().requires_grad_()
    out_a, state_a = reference(inputs_a, hx)
    out_b, state_b = ours(inputs_b, hx)
    torch.testing.assert_close(out_b, out_a, atol=1e-6, rtol=0)
    for a, b in zip(state_a if cell == "lstm" else [state_a], state_b if cell == "lstm" else [state_b]):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=0)
    weights = torch.randn_like(out_a)
    final = state_a[1] if cell == "lstm" else state_a
    ((out_a * weights).sum() + final.sum()).backward()
    final = state_b[1] if cell == "lstm" else state_b
    ((out_b * weights).sum() + final.sum()).backward()
    torch.testing.assert_close(inputs_b.grad, inputs_a.grad, atol=1e-6, rtol=0)
    for name, parameter in reference.named_parameters():
        torch.testing.assert_close(ours.get_parameter(name).grad, parameter.grad, atol=1e-6, rtol=0, msg=name)


def test_relu_rnn_and_zero_state_equal_torch():
    reference, ours = _pair("rnn", layers=1, nonlinearity="relu")
    inputs = torch.randn(4, 9, 5, dtype=torch.float64)
    torch.testing.assert_close(ours(inputs)[0], reference(inputs)[0], atol=1e-6, rtol=0)


def test_variants_have_the_rows_of_their_gates():
    assert lstm_gates("vanilla") == ("i", "f", "g", "o")
    assert lstm_gates("nig") == ("f", "g", "o")
    assert lstm_gates("cifg") == ("i", "g", "o")  # f = 1 - i
    assert lstm_gates("nfg") == ("i", "g", "o")
    assert lstm_gates("nog") == ("i", "f", "g")
    hidden, features = 6, 4
    vanilla = 4 * hidden * (features + hidden + 2)
    counts = {variant: sum(p.numel() for p in UnrolledLSTM(features, hidden, variant=variant).parameters())
              for variant in VARIANTS}
    assert counts["vanilla"] == counts["niaf"] == counts["noaf"] == vanilla
    for variant in ("nig", "nfg", "nog", "cifg"):
        assert counts[variant] == vanilla * 3 // 4
    assert counts["peepholes"] == vanilla + 3 * hidden
    assert counts["fgr"] == vanilla + (3 * hidden) ** 2
    with pytest.raises(ValueError, match="variant must be one of"):
        lstm_gates("nope")


def _one_step(variant: str, **named):
    """One step of a 1-unit LSTM variant from the given state, with every weight zero except the
    biases (so each gate's value is sigmoid of its bias) and peephole/gate weights given."""
    cell = UnrolledLSTM(1, 1, variant=variant).double()
    with torch.no_grad():
        for parameter in cell.parameters():
            parameter.zero_()
        for gate, bias in named.get("biases", {}).items():
            cell.bias_hh_l0[cell.gate_rows(gate)] = bias
        if "peepholes" in named:
            cell.weight_ch_l0[:, 0] = torch.tensor(named["peepholes"], dtype=torch.float64)
    c0 = torch.tensor([[[named.get("c0", 0.5)]]], dtype=torch.float64)
    _, (h, c) = cell(torch.zeros(1, 1, 1, dtype=torch.float64), (torch.zeros_like(c0), c0))
    return h.item(), c.item()


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def test_variant_formulas_by_hand():
    b = {"i": 0.3, "f": -0.2, "g": 0.7, "o": 1.1}
    i, f, o = (_sigmoid(b[gate]) for gate in "ifo")
    g = math.tanh(b["g"])
    c0 = 0.5

    def biases(variant):
        return {gate: b[gate] for gate in lstm_gates(variant)}

    expected_c = {
        "vanilla": f * c0 + i * g, "nig": f * c0 + g, "nfg": c0 + i * g, "nog": f * c0 + i * g,
        "niaf": f * c0 + i * b["g"], "noaf": f * c0 + i * g, "cifg": (1 - i) * c0 + i * g,
    }
    for variant, cell in expected_c.items():
        h, c = _one_step(variant, biases=biases(variant), c0=c0)
        out_gate = 1.0 if variant == "nog" else o
        squash = cell if variant == "noaf" else math.tanh(cell)
        assert c == pytest.approx(cell, abs=1e-6), variant
        assert h == pytest.approx(out_gate * squash, abs=1e-6), variant
    # Peepholes: i and f see c_{t-1}, o sees the new c_t.
    p_i, p_f, p_o = 0.4, -0.6, 0.9
    h, c = _one_step("peepholes", biases=b, c0=c0, peepholes=[p_i, p_f, p_o])
    i_p, f_p = _sigmoid(b["i"] + p_i * c0), _sigmoid(b["f"] + p_f * c0)
    c_p = f_p * c0 + i_p * g
    assert c == pytest.approx(c_p, abs=1e-6)
    assert h == pytest.approx(_sigmoid(b["o"] + p_o * c_p) * math.tanh(c_p), abs=1e-6)


def test_full_gate_recurrence_reads_the_previous_gates():
    cell = UnrolledLSTM(1, 1, variant="fgr", batch_first=True).double()
    with torch.no_grad():
        for parameter in cell.parameters():
            parameter.zero_()
        cell.weight_gates_l0[0, 2] = 2.0  # the input gate reads the previous step's output gate
        cell.bias_hh_l0[cell.gate_rows("g")] = 1.0
    _, (_, c) = cell(torch.zeros(1, 2, 1, dtype=torch.float64))
    # Step 1: every gate 0.5 (no previous gates), so c_1 = 0.5 * tanh(1). Step 2: o_1 = 0.5 makes
    # i_2 = sigmoid(2 * 0.5); f_2 = 0.5.
    g = math.tanh(1.0)
    assert c.item() == pytest.approx(0.5 * (0.5 * g) + _sigmoid(1.0) * g, abs=1e-12)


def test_recurrent_dropout_uses_one_mask_for_the_whole_sequence():
    torch.manual_seed(0)
    cell = UnrolledRNN(3, 8, recurrent_dropout=0.5, batch_first=True)
    seen: list[torch.Tensor] = []
    step = cell.step

    def spy(projected, hidden_seen, state, *rest):
        seen.append((hidden_seen, state))
        return step(projected, hidden_seen, state, *rest)

    cell.step = spy
    cell.train()
    cell(torch.randn(4, 6, 3), torch.randn(1, 4, 8))
    masks = [(hidden_seen / state) for hidden_seen, state in seen]
    for mask in masks[1:]:
        torch.testing.assert_close(mask, masks[0])
    assert set(masks[0].unique().tolist()) <= {0.0, 2.0} and (masks[0] == 0).any() and (masks[0] == 2).any()
    seen.clear()
    cell.eval()
    cell(torch.randn(4, 6, 3), torch.randn(1, 4, 8))
    assert all(torch.equal(hidden_seen, state) for hidden_seen, state in seen)


def test_zoneout_keeps_previous_units_in_training_and_mixes_in_evaluation():
    torch.manual_seed(0)
    cell = UnrolledGRU(3, 16, zoneout=0.5, batch_first=True)
    inputs, hx = torch.randn(8, 1, 3), torch.randn(1, 8, 16)
    cell.eval()
    mixed, _ = cell(inputs, hx)
    cell.zoneout = 0.0
    new, _ = cell(inputs, hx)
    torch.testing.assert_close(mixed[:, 0], 0.5 * hx[0] + 0.5 * new[:, 0])
    cell.zoneout = 0.5
    cell.train()
    zoned, _ = cell(inputs, hx)
    kept = torch.isclose(zoned[:, 0], hx[0])
    fresh = torch.isclose(zoned[:, 0], new[:, 0])
    assert bool((kept | fresh).all()) and kept.any() and fresh.any()


def test_weight_drop_changes_w_hh_only_in_training_and_keeps_the_stored_weights():
    torch.manual_seed(0)
    dropped = WeightDropLSTM(4, 6, num_layers=2, batch_first=True, weight_drop=0.5)
    plain = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    plain.load_state_dict(dropped.state_dict())
    before = {name: value.clone() for name, value in dropped.state_dict().items()}
    inputs = torch.randn(3, 5, 4)
    dropped.eval()
    torch.testing.assert_close(dropped(inputs)[0], plain(inputs)[0], atol=0, rtol=0)
    dropped.train()
    outputs = dropped(inputs)[0]
    assert not torch.allclose(outputs, plain(inputs)[0])
    # The same call with W_hh zeroed where the mask dropped it: recover the mask from the gradient.
    outputs.sum().backward()
    for name, value in dropped.state_dict().items():
        assert torch.equal(value, before[name]), name  # stored weights intact
    assert dropped.weight_hh_l0.grad is not None and (dropped.weight_hh_l0.grad == 0).float().mean() > 0.3
    assert (dropped.weight_ih_l0.grad == 0).float().mean() < 0.1  # W_ih is not dropped
    assert list(dropped.state_dict()) == list(plain.state_dict())


def test_weight_drop_equals_the_fused_lstm_with_the_masked_matrix():
    torch.manual_seed(0)
    dropped = WeightDropLSTM(4, 6, batch_first=True, weight_drop=0.4)
    inputs = torch.randn(3, 5, 4)
    torch.manual_seed(1)
    outputs = dropped(inputs)[0]
    torch.manual_seed(1)
    mask_scaled = nn.functional.dropout(torch.ones_like(dropped.weight_hh_l0), 0.4, True)
    reference = nn.LSTM(4, 6, batch_first=True)
    reference.load_state_dict(dropped.state_dict())
    with torch.no_grad():
        reference.weight_hh_l0.mul_(mask_scaled)
    torch.testing.assert_close(outputs, reference(inputs)[0])


def test_build_recurrent_keeps_the_fused_kernel_unless_an_option_needs_the_steps():
    assert type(build_recurrent("lstm", 3, 4)) is nn.LSTM
    assert type(build_recurrent("gru", 3, 4, weight_drop=0.3)).__name__ == "WeightDropGRU"
    assert isinstance(build_recurrent("lstm", 3, 4, recurrent_dropout=0.25), UnrolledLSTM)
    assert isinstance(build_recurrent("lstm", 3, 4, variant="cifg"), UnrolledLSTM)
    assert isinstance(build_recurrent("rnn", 3, 4, zoneout=0.1), UnrolledRNN)
    assert isinstance(build_recurrent("gru", 3, 4, unrolled=True), UnrolledGRU)
    with pytest.raises(ValueError, match="LSTM variant"):
        build_recurrent("gru", 3, 4, variant="cifg")


@pytest.mark.parametrize("variant", ["vanilla", "cifg", "peepholes"])
def test_forget_bias_starts_the_forget_gate_at_sigmoid_of_the_bias(variant):
    rnn = build_recurrent("lstm", 3, 4, num_layers=2, variant=variant, unrolled=True, forget_bias=1.5)
    with torch.no_grad():
        for layer in range(2):
            for name in ("weight_ih", "weight_hh"):
                getattr(rnn, f"{name}_l{layer}").zero_()
    # Zero weights: f = sigmoid(1.5) for every unit, so c_1 = f * c_0 + i * g with g = tanh(b_g).
    gate = "i" if variant == "cifg" else "f"
    rows = lstm_gate_rows(rnn, gate)
    expected = -1.5 if variant == "cifg" else 1.5
    assert torch.all(rnn.bias_hh_l1[rows] == expected) and torch.all(rnn.bias_ih_l1[rows] == 0)
    fused = nn.LSTM(3, 4)
    set_forget_bias(fused, 2.0)
    assert torch.all(fused.bias_hh_l0[4:8] == 2.0) and torch.all(fused.bias_ih_l0[4:8] == 0)
    with pytest.raises(ValueError, match="no forget gate"):
        set_forget_bias(UnrolledLSTM(3, 4, variant="nfg"), 1.0)


def test_the_model_summary_counts_the_unrolled_cells_like_torchs():
    from trainlab.reports.model_summary import _multiply_adds

    inputs = (torch.zeros(2, 9, 5),)
    fused = _multiply_adds(nn.LSTM(5, 7, num_layers=2, batch_first=True), inputs, torch.zeros(2, 9, 7))
    unrolled = _multiply_adds(UnrolledLSTM(5, 7, num_layers=2, batch_first=True), inputs, torch.zeros(2, 9, 7))
    assert unrolled == fused == 9 * 4 * 7 * ((5 + 7) + (7 + 7))
    cifg = _multiply_adds(UnrolledLSTM(5, 7, variant="cifg", batch_first=True), inputs, torch.zeros(2, 9, 7))
    assert cifg == 9 * 3 * 7 * (5 + 7)
