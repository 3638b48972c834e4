"""Text classification: token ids padded per batch (bucketed by length in training), a TF-IDF
baseline scored on the same splits, and the encoder saved for `trainlab predict`.

When a run ends, RUN_DIR/confident_mistakes.json lists the test examples the model got wrong with
the highest confidence (decoded text, true and predicted label, probabilities), which says more
about what a model has not learnt than its accuracy does. Next-word data (data/next_word.py) is a
language model in classifier form: its runs also report perplexity, exp(loss), and skip what
makes no sense with a class per word (the TF-IDF baseline, a vocabulary-sized confusion matrix).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from trainlab import registry, rundir, runs
from trainlab.config import Config, TextDataConfig
from trainlab.data.next_word import NextWordSplits
from trainlab.data.sequence_batching import PaddedBatches
from trainlab.data.sources import load_source
from trainlab.data.text import EncodedTexts
from trainlab.data.tokenizers import PAD_ID
from trainlab.metrics.model_choice import accuracy_and_log_loss, blend, choose_blend
from trainlab.models import TextSpec
from trainlab.models.modes import evaluating
from trainlab.models.pretrained_encoder import fitted_to_language_model
from trainlab.models.tfidf import TfidfLogisticRegression
from trainlab.pipelines.classification import ClassificationPipeline

MISTAKES_KEPT = 20
# Above this many classes confusion_matrix.json is not written: for next-word data it would hold
# vocabulary-squared counts (1,000 words: a million per split) that no figure can show.
CONFUSION_FILE_MAX_CLASSES = 100


@registry.tasks.register("text-classification", "classify texts (a builtin dataset, a CSV/TSV/JSONL, a folder)")
class TextClassification(ClassificationPipeline):
    default_model = "lstm"
    # What the sentiment study found best (bidirectional, max pooling, dropout on the embedded
    # tokens), for a config that names no model; `--model lstm` is the plain cell.
    default_model_options: ClassVar[dict[str, Any]] = {"bidirectional": True, "pooling": "max", "embedding_dropout": 0.3}
    # It overfits after a few epochs (IMDB: best at epoch 8 of 20, SST-2 at 3): stop 3 epochs after
    # the best validation loss, whose weights restore_best keeps.
    default_train_options: ClassVar[dict[str, Any]] = {"early_stopping": {"patience": 3}}
    tuning_space: ClassVar[dict[str, dict[str, Any]]] = {
        "optim.lr": {"type": "log-float", "low": 3e-4, "high": 1e-2},
        "model.hidden_size": {"type": "choice", "values": [64, 128, 256]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "model.embedding_dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }
    data_section = TextDataConfig

    @classmethod
    def model_recipe(cls, given: dict[str, Any]) -> dict[str, Any]:
        # A language model reads forward only: from one (ULMFiT), the classifier is unidirectional.
        if given.get("pretrained_encoder"):
            return {**cls.default_model_options, "bidirectional": False}
        return cls.default_model_options
    loader = "trainlab.data.text:load_text_source"
    new_data_scorer = "trainlab.evaluation:score_texts"
    reference_spec = TextSpec(20_000, 2)  # a 20,000-word vocabulary, 2 classes
    predicts = True
    saves_encoder = True

    def __init__(self, config: Config):
        super().__init__(config)
        data, encoder_weights = config.data, None
        language_model_run = getattr(config.model, "pretrained_encoder", None)
        if language_model_run:  # ULMFiT: the language model's words, sizes and weights
            language_model, encoder_weights = rundir.read_language_model(language_model_run)
            config.model = fitted_to_language_model(
                config.model, language_model, f"model.pretrained_encoder={language_model_run}")
            data = data.model_copy(update={"vocabulary_from": language_model_run})
        self.data = load_source(config.task, data)
        self.classes = self.data.classes
        embeddings = self.data.embeddings
        self.spec = TextSpec(len(self.data.vocab), len(self.classes), PAD_ID, embeddings, encoder_weights)
        self.task = self.classification_task(self.data.train.labels)

        def batches(texts: EncodedTexts, shuffle: bool = False) -> PaddedBatches:
            return PaddedBatches(
                texts.sequences, texts.labels, config.data.batch_size,
                shuffle=shuffle, seed=config.run.seed, bucket=config.data.bucket,
            )

        self.train_batches = batches(self.data.train, shuffle=True)
        self.val_batches = batches(self.data.val) if self.data.val is not None else None
        self.test_batches = batches(self.data.test)
        self.info = {
            "summary": self.data.summary(),
            "classes": self.classes,
            "vocab_size": len(self.data.vocab),
            # predict rebuilds the model before loading its weights: the width of pretrained rows.
            "pretrained_embedding_dim": None if embeddings is None else int(embeddings.shape[1]),
            "embedding_coverage": (
                None if self.data.embedding_coverage is None else self.data.embedding_coverage.summary()
            ),
        }

    def save_artifacts(self, run_dir: Path) -> None:
        self.data.encoder().save(run_dir / rundir.ENCODER_FILE)

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        if len(self.classes) <= CONFUSION_FILE_MAX_CLASSES:
            extra = super().finish(model, results, run_dir)
        else:
            extra = {}
            for result in results.values():
                result.pop("confusion_matrix", None)
        runs.write_json(run_dir / rundir.CONFIDENT_MISTAKES_FILE, self.confident_mistakes(model))
        if isinstance(self.data, NextWordSplits):
            # The loss is the mean cross-entropy per predicted word in nats.
            extra.update({f"{split}_perplexity": math.exp(result["loss"]) for split, result in results.items()})
            return extra
        # The classical reference, on exactly the tokens the network saw.
        baseline = fitted_tfidf_baseline(self.data.train)
        scores = tfidf_test_scores(baseline, self.data.test)
        extra.update({f"baseline_tfidf_{name}": value for name, value in scores.items()})
        if self.data.val is not None:
            extra.update(self.chosen_model(model, baseline, run_dir))
        return extra

    def chosen_model(self, model: nn.Module, baseline: TfidfLogisticRegression, run_dir: Path) -> dict[str, Any]:
        """The network, the TF-IDF baseline or a blend of their probabilities, chosen on validation
        (metrics/model_choice.py), with every candidate's validation and test accuracy. When the
        winner uses the baseline, the baseline is saved beside the network for `predict`."""
        splits = {"val": (self.val_batches, self.data.val), "test": (self.test_batches, self.data.test)}
        network = {split: class_probabilities(model, batches).numpy() for split, (batches, _) in splits.items()}
        tfidf = {split: baseline.predict_proba(texts.sequences) for split, (_, texts) in splits.items()}
        labels = {split: texts.labels.numpy() for split, (_, texts) in splits.items()}
        choice = choose_blend(network["val"], tfidf["val"], labels["val"])
        chosen = "tfidf" if choice.name == "baseline" else choice.name
        extra: dict[str, Any] = {"chosen_model": chosen, "chosen_network_weight": choice.network_weight,
                                 "ensemble_network_weight": choice.ensemble_weight}
        for name, weight in (("network", 1.0), ("tfidf", 0.0), ("ensemble", choice.ensemble_weight)):
            for split in splits:
                blended = blend(network[split], tfidf[split], weight)
                extra[f"candidate_{name}_{split}_accuracy"] = accuracy_and_log_loss(blended, labels[split])[0]
        extra["chosen_test_accuracy"] = extra[f"candidate_{chosen}_test_accuracy"]
        if choice.network_weight < 1:
            baseline.saved().save(run_dir / rundir.TFIDF_ARRAYS_FILE, run_dir / rundir.TFIDF_NGRAMS_FILE)
        return extra

    def confident_mistakes(self, model: nn.Module, kept: int = MISTAKES_KEPT) -> dict[str, Any]:
        """The `kept` wrong test predictions with the highest probability on the predicted class."""
        confidence, predicted, label_probability = prediction_confidences(model, self.test_batches)
        labels = self.data.test.labels
        wrong = torch.nonzero(predicted != labels).flatten()
        order = wrong[torch.argsort(confidence[wrong], descending=True, stable=True)][:kept]
        encoder = self.data.encoder()
        shown = [
            {
                "index": index,
                "text": encoder.decode(self.data.test.sequences[index].tolist()),
                "true_label": self.classes[int(labels[index])],
                "predicted_label": self.classes[int(predicted[index])],
                "confidence": float(confidence[index]),
                "true_label_probability": float(label_probability[index]),
            }
            for index in order.tolist()
        ]
        return {"split": "test", "examples": len(labels), "wrong": len(wrong), "most_confident": shown}

    @staticmethod
    def spec_from_info(info: dict[str, Any], encoder: Any) -> TextSpec:
        embeddings = None
        if info.get("pretrained_embedding_dim"):
            # Placeholder rows of the right width; the checkpoint holds the trained ones.
            embeddings = torch.zeros(info["vocab_size"], info["pretrained_embedding_dim"])
        return TextSpec(info["vocab_size"], len(info["classes"]), PAD_ID, embeddings)

    @staticmethod
    def spec_from_shape(input_shape: tuple[int, ...], num_classes: int) -> TextSpec:
        if len(input_shape) != 2:
            raise ValueError("takes texts; give TOKENS,VOCAB, e.g. 64,20000")
        return TextSpec(input_shape[1], num_classes)

    @staticmethod
    def example_input(spec: TextSpec, tokens: int) -> tuple[tuple[torch.Tensor, ...], str]:
        # Token 1 is a real token in every vocabulary (0 is padding), so no step is masked out.
        inputs = (torch.ones(1, tokens, dtype=torch.long), torch.tensor([tokens]))
        return inputs, f"one text of {tokens} tokens (vocabulary {spec.vocab_size:,})"


def tfidf_baseline_scores(train: EncodedTexts, test: EncodedTexts) -> dict[str, float]:
    """The TF-IDF baseline's test scores (confusion matrix left out), fitted on `train`."""
    return tfidf_test_scores(fitted_tfidf_baseline(train), test)


def tfidf_test_scores(baseline: TfidfLogisticRegression, test: EncodedTexts) -> dict[str, float]:
    """A fitted baseline's scores on `test`, without the confusion matrix (metrics.json is flat)."""
    scores = baseline.evaluate(test.sequences, test.labels)
    scores.pop("confusion_matrix", None)
    return scores


def fitted_tfidf_baseline(train: EncodedTexts) -> TfidfLogisticRegression:
    """The TF-IDF baseline fitted on `train`; within `remembered_tfidf_scores()`, fitted once per
    distinct training split."""
    remembered = _REMEMBERED.get()
    key = _digest(train.sequences.tokens, train.sequences.offsets, train.labels)
    if remembered is not None and key in remembered:
        return remembered[key]
    baseline = TfidfLogisticRegression().fit(train.sequences, train.labels)
    if remembered is not None:
        remembered[key] = baseline
        while len(remembered) > TFIDF_SCORES_KEPT:
            remembered.pop(next(iter(remembered)))
    return baseline


# The baseline depends on the training tokens and labels alone, and the arms of a study usually
# share them: the study runner remembers the baselines fitted on the last few distinct training
# splits by a digest of their contents, so a study of seven arms fits it once instead of seven
# times. Outside a study nothing is kept: a run in a notebook leaves no state behind.
TFIDF_SCORES_KEPT = 4
_REMEMBERED: ContextVar[dict[str, TfidfLogisticRegression] | None] = ContextVar("tfidf_baselines", default=None)


@contextlib.contextmanager
def remembered_tfidf_scores() -> Iterator[None]:
    """Remember fitted TF-IDF baselines by the digest of their training splits until the block ends."""
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


def remember_tfidf_scores_from_now_on() -> None:
    """The same for the rest of this process: a study's worker process, which runs only its runs."""
    _REMEMBERED.set({})


def _digest(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def prediction_confidences(
    model: nn.Module, batches: PaddedBatches
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For every example of unshuffled `batches`, in order: the probability of the predicted class
    (N,), the predicted class (N,) and the probability of the true class (N,).

    Only these three numbers per example are kept, not all probabilities: a next-word model has a
    class per word of its vocabulary.
    """
    confidence, predicted, label_probability = [], [], []
    for probabilities, labels in batch_probabilities(model, batches):
        best = probabilities.max(dim=1)
        confidence.append(best.values)
        predicted.append(best.indices)
        label_probability.append(probabilities.gather(1, labels[:, None]).squeeze(1))
    return torch.cat(confidence), torch.cat(predicted), torch.cat(label_probability)


def class_probabilities(model: nn.Module, batches: PaddedBatches) -> torch.Tensor:
    """(N, classes) probabilities of every example of unshuffled `batches`, in order."""
    return torch.cat([probabilities for probabilities, _ in batch_probabilities(model, batches)])


def batch_probabilities(model: nn.Module, batches: PaddedBatches) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(probabilities on the CPU, labels) of each batch, in eval mode without gradients."""
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        for tokens, lengths, labels in batches:
            yield model(tokens.to(device), lengths.to(device)).float().softmax(dim=1).cpu(), labels
