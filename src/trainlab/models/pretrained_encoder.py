"""A text classifier that starts from a trained language model (ULMFiT, Howard & Ruder 2018).

`trainlab train language-model --data train.csv data.tokenizer=word` learns to predict the next
word of the training texts; `trainlab train text-classification ... model.pretrained_encoder=RUN_DIR`
then reads its texts with that run's tokenizer and vocabulary (so every id means the same word),
takes the language model's sizes, and starts with its embedding and recurrent layers: layer k of
the language model's stack becomes the forward direction of the classifier's layer k. Only the
pooling and the head start from scratch. The discriminative rates (`finetune.lr_decay`) and the
gradual unfreezing (`finetune.freeze=backbone finetune.unfreeze_epoch=N`) of training/finetune.py
apply as for CNNs, with the groups embedding, recurrent layers, head.

A language model reads forward only, so the classifier must be unidirectional: a backward
direction (and, above layer 0, a forward one reading both directions) would have nothing to start
from.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from trainlab.errors import TrainlabError

SIZES = ("embedding_dim", "hidden_size", "layers")
RECURRENT_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def fitted_to_language_model(model_config: Any, language_model: Any, where: str) -> Any:
    """`model_config` with the sizes of `language_model` (its model section); options that
    contradict it are refused, naming `where` the language model came from."""
    if language_model.name != model_config.name:
        raise TrainlabError(f"{where}: the language model is a {language_model.name}; train the classifier "
                            f"with --model {language_model.name}")
    if model_config.bidirectional:
        raise TrainlabError(f"{where}: a language model reads forward only; set model.bidirectional=false")
    sizes = {"embedding_dim": language_model.embedding_dim or language_model.hidden_size,
             "hidden_size": language_model.hidden_size, "layers": language_model.layers}
    for name in SIZES:
        if name in model_config.model_fields_set and getattr(model_config, name) != sizes[name]:
            raise TrainlabError(f"{where}: model.{name}={getattr(model_config, name)} but the language model's "
                                f"is {sizes[name]}; leave model.{name} unset to follow it")
    return model_config.model_copy(update=sizes)


def load_language_model_weights(classifier: nn.Module, language_model: dict[str, torch.Tensor]) -> int:
    """Copy a language model's embedding and recurrent layers (its state dict) into `classifier`,
    built with `fitted_to_language_model`'s sizes; returns the number of tensors copied."""
    target = classifier.state_dict()
    names = {"embedding.weight": "embedding.weight"}
    names.update({f"rnn.{parameter}_l{layer}": f"encoder.layers.{layer}.forward_rnn.{parameter}_l0"
                  for layer in range(len(classifier.encoder.layers)) for parameter in RECURRENT_PARAMETERS})
    problems = [f"{name} is missing" for name in names if name not in language_model]
    problems += [f"{name} is {tuple(language_model[name].shape)}, the classifier's {into} {tuple(target[into].shape)}"
                 for name, into in names.items()
                 if name in language_model and language_model[name].shape != target[into].shape]
    if problems:
        raise ValueError(f"model.pretrained_encoder: the language model's weights do not fit the classifier: "
                         f"{'; '.join(problems[:3])} (a language model with weight drop or another cell "
                         "variant keeps other weights)")
    classifier.load_state_dict({**target, **{into: language_model[name] for name, into in names.items()}})
    return len(names)
