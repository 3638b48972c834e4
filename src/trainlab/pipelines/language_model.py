"""Language modelling: a text (a builtin corpus or a text file) read as next-token prediction.

The text is cut in order into train | validation | test (data/corpus.py): held-out text follows
the training text. Unless the config says otherwise, a language model reads characters
(`data.tokenizer=char`) and holds out the last 10% of the text, half for validation and half for
test (`data.val_fraction=0.05`, `data.test_fraction=0.05`), as char-rnn and nanoGPT do; these
resolved values are what config.yaml records. Training reads contiguous chunks of
`data.chunk_length` tokens with the state carried across them (`data.stateful`, the default)
or independent windows.

When a run ends, metrics.json gets the unigram and add-one bigram baselines on the same test
tokens (`baseline_unigram_bpc`, `baseline_bigram_bpc`, their losses and perplexities), and
RUN_DIR/samples.json holds text generated at several temperatures for the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from trainlab import registry, rundir, runs
from trainlab.config import Config, CorpusDataConfig
from trainlab.data.corpus import LanguageModelBatches, TextCorpus
from trainlab.data.sources import load_source
from trainlab.generation import samples_by_temperature
from trainlab.metrics.language import baseline_scores
from trainlab.models.language_model import LanguageModelSpec
from trainlab.pipelines.base import Pipeline
from trainlab.training.tasks import LanguageModelTask


@registry.tasks.register("language-model", "model a text one token at a time (characters or words)")
class LanguageModel(Pipeline):
    default_model = "lstm"
    tuning_space: ClassVar[dict[str, dict[str, Any]]] = {
        "optim.lr": {"type": "log-float", "low": 3e-4, "high": 1e-2},
        "model.hidden_size": {"type": "choice", "values": [128, 256, 512]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }
    data_section = CorpusDataConfig
    loader = "trainlab.data.corpus:load_corpus_source"
    new_data_scorer = "trainlab.evaluation:score_text_file"
    reference_spec = LanguageModelSpec(67)  # the characters of Tiny Shakespeare and <unk>
    saves_encoder = True

    def __init__(self, config: Config):
        super().__init__(config)
        data = config.data
        self.data: TextCorpus = load_source(config.task, data)
        self.spec = LanguageModelSpec(len(self.data.vocab))
        self.task = LanguageModelTask()
        mode = "stateful" if data.stateful else "windows"

        def batches(ids, training: bool) -> LanguageModelBatches:
            return LanguageModelBatches(ids, data.batch_size, data.chunk_length, mode, training,
                                        seed=config.run.seed)

        self.train_batches = batches(self.data.train, training=True)
        self.val_batches = batches(self.data.val, training=False) if self.data.val is not None else None
        self.test_batches = batches(self.data.test, training=False)
        self.info = {
            "summary": self.data.summary(),
            "vocab_size": len(self.data.vocab),
            "tokenizer": self.data.tokenizer.kind,
            "tokens": {"train": len(self.data.train), "test": len(self.data.test),
                       "val": None if self.data.val is None else len(self.data.val)},
            "batching": mode,
        }

    def save_artifacts(self, run_dir: Path) -> None:
        self.data.encoder().save(run_dir / rundir.ENCODER_FILE)

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        samples = samples_by_temperature(model, self.data.encoder(), seed=self.config.run.seed)
        runs.write_json(run_dir / rundir.SAMPLES_FILE, samples)
        # The classical references, on exactly the test tokens the network was scored on.
        return baseline_scores(self.data.train, self.data.test, len(self.data.vocab))

    @staticmethod
    def spec_from_info(info: dict[str, Any], encoder: Any) -> LanguageModelSpec:
        return LanguageModelSpec(len(encoder.vocab))

    @staticmethod
    def spec_from_shape(input_shape: tuple[int, ...], num_classes: int) -> LanguageModelSpec:
        if len(input_shape) != 2:
            raise ValueError("takes tokens; give TOKENS,VOCAB, e.g. 64,100")
        return LanguageModelSpec(input_shape[1])

    @staticmethod
    def example_input(spec: LanguageModelSpec, tokens: int) -> tuple[tuple[torch.Tensor, ...], str]:
        return (torch.ones(1, tokens, dtype=torch.long),), f"{tokens} tokens (vocabulary {spec.vocab_size:,})"
