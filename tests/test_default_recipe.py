"""A task's default model comes with the task's recipe where the config names no model; naming a
model, even the default one, gives that model's own defaults; options the config sets win."""

from __future__ import annotations

from trainlab.config import apply_overrides, build_config, parse_overrides, to_yaml


def text_config(*pairs: str, **raw):
    return build_config(apply_overrides({"task": "text-classification", **raw}, parse_overrides(list(pairs))))


def test_text_classification_without_a_model_gets_the_sentiment_studys_best_recipe():
    model = text_config().model
    assert model.name == "lstm"
    assert (model.bidirectional, model.pooling, model.embedding_dropout) == (True, "max", 0.3)


def test_options_the_config_sets_win_over_the_recipe():
    model = text_config("model.pooling=mean", "model.hidden_size=64").model
    assert (model.bidirectional, model.pooling, model.hidden_size, model.embedding_dropout) == (True, "mean", 64, 0.3)


def test_naming_a_model_even_the_default_one_gives_its_own_defaults():
    for pairs in (("model=lstm",), ("model.name=lstm",), ("model=gru",)):
        model = text_config(*pairs).model
        assert (model.bidirectional, model.pooling, model.embedding_dropout) == (False, "last", 0.0), pairs


def test_a_run_config_written_with_the_recipe_reads_back_the_same(tmp_path):
    # config.yaml holds the resolved options and the model's name: a rerun gets what the run got.
    config = text_config()
    path = tmp_path / "config.yaml"
    path.write_text(to_yaml(config))
    from trainlab.config import load_yaml

    assert build_config(load_yaml(path)) == config


def test_other_tasks_keep_their_default_models_defaults():
    image = build_config({"task": "image-classification"}).model
    assert image.name == "simple_cnn" and image.channels == [32, 64]


def test_the_text_recipe_stops_early_unless_a_model_is_named_or_the_config_says_otherwise():
    assert text_config().train.early_stopping.patience == 3
    assert text_config("train.epochs=5").train.early_stopping.patience == 3  # other train keys keep it
    assert text_config("train.early_stopping.min_delta=0.01").train.early_stopping.patience == 3
    assert text_config("train.early_stopping.patience=7").train.early_stopping.patience == 7
    assert text_config("model=lstm").train.early_stopping.patience is None
    assert build_config({"task": "image-classification"}).train.early_stopping.patience is None


def test_an_old_run_config_naming_its_model_trains_as_before(tmp_path):
    # A config.yaml written before the recipe names its model and no patience: it must not gain one.
    old = {"task": "text-classification", "model": {"name": "lstm"}, "train": {"epochs": 20}}
    assert build_config(old).train.early_stopping.patience is None
