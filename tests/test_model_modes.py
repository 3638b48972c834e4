import pytest
from torch import nn

from trainlab.models.modes import evaluating


def tiny_model(training: bool) -> nn.Module:
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    return model.train(training)


def modes(model: nn.Module) -> set[bool]:
    return {module.training for module in model.modules()}


@pytest.mark.parametrize("started_training", [True, False])
@pytest.mark.parametrize("training", [False, True])
def test_mode_inside_the_block_and_restored_after_it(started_training, training):
    model = tiny_model(started_training)
    with evaluating(model, training=training) as inside:
        assert inside is model
        assert modes(model) == {training}
    assert modes(model) == {started_training}


@pytest.mark.parametrize("started_training", [True, False])
@pytest.mark.parametrize("training", [False, True])
def test_mode_restored_when_the_block_raises(started_training, training):
    model = tiny_model(started_training)
    with pytest.raises(RuntimeError, match="in the block"), evaluating(model, training=training):
        assert modes(model) == {training}
        raise RuntimeError("in the block")
    assert modes(model) == {started_training}


@pytest.mark.parametrize("started_training", [True, False])
def test_nested_blocks_restore_the_mode_of_the_enclosing_block(started_training):
    model = tiny_model(started_training)
    with evaluating(model):
        with evaluating(model, training=True):
            assert modes(model) == {True}
            with evaluating(model):
                assert modes(model) == {False}
            assert modes(model) == {True}
        assert modes(model) == {False}
    assert modes(model) == {started_training}


def test_nested_block_that_raises_restores_every_level():
    model = tiny_model(True)
    with evaluating(model):
        with pytest.raises(ValueError), evaluating(model, training=True):
            raise ValueError
        assert modes(model) == {False}
    assert modes(model) == {True}
