"""Keras 3 with the TensorFlow backend on the suite's cases: each network written in Keras with the
same layers and sizes as trainlab's (the parameter counts are in the result to check), trained with
`model.fit` and Keras' defaults (which leave XLA off on the TensorFlow backend; the result records
`jit_compile`). Variable lengths are padded to the longest review and masked, as Keras users do;
the language model reads independent windows."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from tensorflow import keras

from benchmarks.suite.cases import (
    EMBEDDING,
    FORECAST_HIDDEN,
    FORECAST_LAYERS,
    HIDDEN,
    HORIZON,
    LM_HIDDEN,
    LM_LAYERS,
    LM_LENGTH,
    LM_VOCAB,
    NUM_CLASSES,
    VOCAB,
    WINDOW,
    Case,
)

layers = keras.layers
_last_model: dict = {}


def prepare(device: str, threads: int) -> dict:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "threads": threads}


def resolve_device(name: str) -> str:
    return name


def measurements(case: Case) -> dict:
    model = _last_model.get("model")
    return {} if model is None else {"params": model.count_params(), "jit_compile": bool(model.jit_compile)}


def _conv_block(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.MaxPooling2D(2)(layers.ReLU()(x))


def _cnn() -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    x = _conv_block(_conv_block(inputs, 32), 64)
    x = layers.Dense(128, activation="relu")(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(10)(x))


def _residual_block(x, filters: int, stride: int):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    if stride != 1 or x.shape[-1] != filters:  # He et al.'s option A: strided identity, zero channels
        extra = filters - x.shape[-1]
        shortcut = layers.Lambda(lambda t: tf.pad(t[:, ::stride, ::stride, :],
                                                  [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]]))(x)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def _resnet20() -> keras.Model:
    inputs = keras.Input((32, 32, 3))
    x = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            x = _residual_block(x, filters, 2 if stage > 0 and block == 0 else 1)
    return keras.Model(inputs, layers.Dense(10)(layers.GlobalAveragePooling2D()(x)))


def _text_classifier(bidirectional: bool, masked: bool) -> keras.Model:
    inputs = keras.Input((None,), dtype="int64")
    embedded = layers.Embedding(VOCAB, EMBEDDING, mask_zero=masked)(inputs)
    recurrent = layers.LSTM(HIDDEN)  # with a mask: the output at each review's last real token
    features = (layers.Bidirectional(recurrent) if bidirectional else recurrent)(embedded)
    return keras.Model(inputs, layers.Dense(NUM_CLASSES)(features))


def _language_model() -> keras.Model:
    inputs = keras.Input((LM_LENGTH,), dtype="int64")
    x = layers.Embedding(LM_VOCAB, LM_HIDDEN)(inputs)
    for _ in range(LM_LAYERS):
        x = layers.LSTM(LM_HIDDEN, return_sequences=True)(x)
    return keras.Model(inputs, layers.Dense(LM_VOCAB)(x))


def _forecaster() -> keras.Model:
    inputs = keras.Input((WINDOW, 1))
    x = inputs
    for layer in range(FORECAST_LAYERS):
        x = layers.LSTM(FORECAST_HIDDEN, return_sequences=layer < FORECAST_LAYERS - 1)(x)
    return keras.Model(inputs, layers.Reshape((HORIZON, 1))(layers.Dense(HORIZON)(x)))


def _model_and_data(case: Case, data: dict) -> tuple[keras.Model, np.ndarray, np.ndarray, object]:
    classes = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if case.model in ("cnn", "resnet20"):
        model = _cnn() if case.model == "cnn" else _resnet20()
        return model, data["images"].transpose(0, 2, 3, 1), data["labels"], classes
    if case.model in ("lstm", "bilstm"):
        model = _text_classifier(case.model == "bilstm", masked=case.lengths == "imdb")
        return model, data["tokens"], data["labels"], classes
    if case.model == "char-lm":
        stream = data["stream"]
        windows = (len(stream) - 1) // LM_LENGTH
        inputs = stream[: windows * LM_LENGTH].reshape(windows, LM_LENGTH)
        targets = stream[1: windows * LM_LENGTH + 1].reshape(windows, LM_LENGTH)
        return _language_model(), inputs, targets, classes
    if case.model == "forecaster":
        return _forecaster(), data["inputs"], data["targets"], "mse"
    raise ValueError(f"unknown model {case.model!r}")


def make_keras(case: Case, data: dict, device: str, precision: str):
    if precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model, inputs, targets, loss = _model_and_data(case, data)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    _last_model["model"] = model

    def epochs(n: int) -> float:
        started = time.perf_counter()
        if case.mode == "inference":
            for _ in range(n):
                model.predict(inputs, batch_size=case.batch_size, verbose=0)
        else:
            model.fit(inputs, targets, batch_size=case.batch_size, epochs=n, shuffle=True, verbose=0)
        return time.perf_counter() - started

    return epochs


CONTENDERS = {"keras": make_keras}
