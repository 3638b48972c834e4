"""Configs: defaults, dotted overrides, one-line errors with suggestions, YAML round trip."""

from __future__ import annotations

import pytest

from trainlab.config import apply_overrides, build_config, load_yaml, parse_overrides, to_yaml
from trainlab.errors import TrainlabError


def config_from(*pairs: str, **raw):
    return build_config(apply_overrides({"task": "image-classification", **raw}, parse_overrides(list(pairs))))


def error_of(*pairs: str) -> str:
    with pytest.raises(TrainlabError) as error:
        config_from(*pairs)
    return str(error.value)


def test_override_values_are_typed_like_yaml():
    config = config_from("optim.lr=3e-4", "train.epochs=5", "model.channels=[16,32]", "train.restore_best=false")
    assert config.optim.lr == 0.0003 and isinstance(config.optim.lr, float)
    assert config.train.epochs == 5
    assert config.model.channels == [16, 32]
    assert config.train.restore_best is False


def test_momentum_resolves_per_optimizer():
    assert config_from("optim=sgd").optim.momentum == 0.9
    assert config_from("optim=rmsprop").optim.momentum == 0.0
    assert config_from("optim=adam").optim.momentum is None


def test_named_sections_take_a_bare_name_then_their_options():
    config = config_from("optim.schedule=cosine", "optim.schedule.warmup_epochs=1")
    assert (config.optim.schedule.name, config.optim.schedule.warmup_epochs) == ("cosine", 1.0)


def test_switching_model_starts_its_section_afresh():
    config = config_from("model.channels=[8]", "model=mlp", "model.hidden_sizes=[10]")
    assert config.model.name == "mlp" and config.model.hidden_sizes == [10]


def test_naming_the_current_model_keeps_its_options():
    # The default model counts as named, so `model=simple_cnn` does not reset it either.
    assert config_from("model.channels=[8]", "model=simple_cnn").model.channels == [8]
    assert config_from("model=mlp", "model.hidden_sizes=[10]", "model.name=mlp").model.hidden_sizes == [10]


def test_naming_the_optimizer_keeps_the_other_optimizer_keys():
    config = config_from("optim.lr=0.5", "optim=sgd", "optim.schedule.warmup_epochs=2", "optim.schedule=cosine")
    assert (config.optim.name, config.optim.lr) == ("sgd", 0.5)
    assert (config.optim.schedule.name, config.optim.schedule.warmup_epochs) == ("cosine", 2.0)


def test_precision_32_reads_as_text_from_the_command_line_and_yaml(tmp_path):
    assert config_from("train.precision=32").train.precision == "32"
    path = tmp_path / "config.yaml"
    path.write_text("task: image-classification\ntrain:\n  precision: 32\n")
    assert build_config(load_yaml(path)).train.precision == "32"


@pytest.mark.parametrize(
    "pair, message",
    [
        ("optim.lrr=0.1", "unknown key 'optim.lrr' (did you mean 'optim.lr'?)"),
        ("model.hiden_size=3", "unknown key 'model.hiden_size' (did you mean 'model.hidden_size'?)"),
        ("train.epochs=0", "train.epochs: Input should be greater than 0 (got 0)"),
        ("optim.lr=-1", "optim.lr: Input should be greater than 0 (got -1)"),
        ("optim.name=lion", "optim.name: Input should be 'sgd', 'adam', 'adamw' or 'rmsprop' (got 'lion')"),
        ("model=resnt20", "unknown model 'resnt20' (did you mean 'resnet20'?); choices: mlp, resnet101, "),
        ("data.test_fraction=0.9", "data.val_fraction + data.test_fraction must be < 1 (got 0.1 + 0.9)"),
        ("optim.nesterov=true", "optim.nesterov applies to sgd only (optim.name is adam)"),
        ("optim.lr", "override 'optim.lr' is not key=value (e.g. optim.lr=3e-4)"),
        ("train.epochs.max=3", "'train.epochs.max': 'train.epochs' is a value, not a section"),
    ],
)
def test_errors_name_the_key(pair, message):
    with pytest.raises(TrainlabError) as error:
        raw = apply_overrides({"task": "image-classification", "train": {"epochs": 3}}, parse_overrides([pair]))
        build_config(raw)
    # A list of choices grows with the registry: its start is what is asserted.
    assert str(error.value) == message if not message.endswith(", ") else str(error.value).startswith(message)


def test_yaml_round_trip_keeps_model_specific_fields(tmp_path):
    config = config_from("model.channels=[4,8]", "model.dropout=0.5", "optim=sgd", "optim.schedule=onecycle")
    path = tmp_path / "config.yaml"
    path.write_text(to_yaml(config))
    again = build_config(load_yaml(path))
    assert again.model_dump() == config.model_dump()
    assert type(again.model) is type(config.model)


def test_bad_yaml_files_are_one_line_errors(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(TrainlabError, match="must hold a mapping of sections"):
        load_yaml(path)
