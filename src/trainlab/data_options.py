"""The `data` section of a config: one class per kind of data, chosen by the task.

Every kind shares the options of `DataConfig` (the source, split files and fractions, the batch
size); each adds its own, as model sections add theirs. A task names its section (`data_section`
of its pipeline), so `data.window` exists for forecasts only and no option means two things:
`data.sequence_length` is a synthetic sequence's length, `data.chunk_length` a language model's
truncated-BPTT chunk, `data.context_length` the words before a next word.

Configs written before the sections existed held every option of every kind in one flat section.
They still load: `from_raw` maps a renamed key to its new name, and drops an option of another
kind of data, which that task never read.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    field_validator,
    model_validator,
)

from trainlab.sections import Section


class AugmentConfig(Section):
    """Training-time image augmentation (never applied to validation or test images)."""

    crop_padding: NonNegativeInt = 0  # random crop of the original size after zero padding
    flip: bool = False  # random horizontal flip
    rotate_degrees: float = Field(0.0, ge=0, le=180)  # random rotation in [-d, d]
    translate: float = Field(0.0, ge=0, lt=1)  # random shift, a fraction of height/width
    scale: float = Field(0.0, ge=0, lt=1)  # random zoom in [1 - s, 1 + s]
    # Inception-style random crop of 8-100% of the area, aspect 3/4-4/3, resized back (torchvision's
    # RandomResizedCrop): the augmentation ImageNet weights were trained with.
    random_resized_crop: bool = False
    brightness: float = Field(0.0, ge=0, lt=1)  # colour jitter: random factors in [1 - b, 1 + b]
    contrast: float = Field(0.0, ge=0, lt=1)
    saturation: float = Field(0.0, ge=0, lt=1)


class DataConfig(Section):
    """What every kind of data has: where it is, how it is split, the batch size."""

    # Old names of this kind's options -> their names now (configs written before the sections).
    renamed: ClassVar[dict[str, str]] = {}

    source: str = "digits"  # builtin dataset name or a path
    test: str | None = None  # a separate file or folder for the test split (else split off)
    val: str | None = None  # a separate file or folder for the validation split (else split off)
    limit: PositiveInt | None = None  # keep the first N examples of each split
    val_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    # The split is fixed by its own seed so that runs with different `run.seed` see the same data.
    split_seed: int = 0
    batch_size: PositiveInt = 64

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> DataConfig:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"data.val_fraction + data.test_fraction must be < 1 "
                f"(got {self.val_fraction} + {self.test_fraction})"
            )
        return self

    @classmethod
    def from_raw(cls, raw: Any) -> Any:
        """`raw` with old names mapped to this section's and other kinds' options dropped."""
        if not isinstance(raw, dict):
            return raw  # validation says what is wrong with it
        other_kinds = {name for section in DATA_SECTIONS for name in section.known_names()}
        mapped = {key: value for key, value in raw.items()
                  if key in cls.model_fields or key not in other_kinds}  # an unknown key stays: an error
        for old, new in cls.renamed.items():
            if old in raw and new not in raw:
                mapped[new] = raw[old]
        return mapped

    @classmethod
    def known_names(cls) -> set[str]:
        return set(cls.model_fields) | set(cls.renamed)


def _integer_as_text(value: Any) -> Any:
    # A column may be named with digits ("0", "2017"), which YAML reads as a number. Floats are
    # left alone: 12.50 -> "12.5" would name another column, so they stay an error to quote.
    if isinstance(value, list):
        return [_integer_as_text(item) for item in value]
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ImageDataConfig(DataConfig):
    """Images: a builtin dataset or a folder of class sub-folders."""

    train_examples: PositiveInt | None = None  # keep N training examples only (learning curves)
    classes: list[str] | None = None  # keep only these classes, in this order
    strict: bool = False  # a corrupt file is an error instead of skipped with a warning
    image_size: tuple[PositiveInt, PositiveInt] | None = None  # (height, width) to resize folders to
    color: Literal["auto", "grayscale", "rgb"] = "auto"  # auto: RGB if any image has colour
    # A folder's images decoded in memory (true), or decoded batch by batch by worker processes
    # while training (false); auto: in memory when they fit a quarter of the memory available.
    in_memory: Literal["auto"] | bool = "auto"
    workers: PositiveInt | Literal["auto"] = "auto"  # decoding processes when streaming; auto: cores - 1, 1..4
    augment: AugmentConfig = AugmentConfig()

    @field_validator("classes", mode="before")
    @classmethod
    def _class_names_as_text(cls, value: Any) -> Any:
        # `data.classes=[0,1,2]` reads as numbers; class names are text ("0" for digits).
        if isinstance(value, list):
            return [str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item
                    for item in value]
        return value


class TokenizedDataConfig(DataConfig):
    """Text read from files and cut into tokens (text classification and language models)."""

    encoding: str = "utf-8"  # of the text and CSV files
    tokenizer: Literal["word", "char"] = "word"
    lowercase: bool | None = None  # None: lowercase words, keep the case of characters
    strip_html: bool = True  # drop tags such as IMDB's <br /> (word tokenizer)
    min_freq: PositiveInt = 1  # rarer tokens become <unk>
    max_vocab: PositiveInt | None = 20_000  # most frequent tokens kept, <pad> and <unk> included


# Training a recurrent network on a batch holds every step's activations, so memory grows with the
# batch's longest text: IMDB's longest reviews (~1,600 words) took a BiLSTM's training to 2.6 GB of
# RSS. 512 tokens keep 89% of IMDB's reviews whole (words and punctuation); the share cut is
# reported with the data.
DEFAULT_MAX_LENGTH = 512


class TextDataConfig(TokenizedDataConfig):
    """Labelled texts (a CSV/TSV/JSONL table or a folder), or next-word examples cut from a text."""

    renamed: ClassVar[dict[str, str]] = {"sequence_length": "context_length"}

    text_column: str = "text"
    label_column: str = "label"
    max_length: PositiveInt | None = DEFAULT_MAX_LENGTH  # truncate longer texts; null keeps them whole
    bucket: bool = True  # training batches of similar lengths (less padding)
    embeddings: str | None = None  # GloVe-format vectors aligned to the vocabulary (coverage reported)
    # A text run's directory whose tokenizer and vocabulary read the texts (instead of a vocabulary
    # built from the training split); model.pretrained_encoder sets it to its language model.
    vocabulary_from: str | None = None
    context_length: PositiveInt = 50  # next-word data: the words an example shows before its next word
    stride: PositiveInt = 1  # next-word data: words between consecutive training examples
    num_examples: PositiveInt = 10_000  # synthetic-reviews: reviews generated

    @field_validator("text_column", "label_column", mode="before")
    @classmethod
    def _column_names_as_text(cls, value: Any) -> Any:
        return _integer_as_text(value)


# A language model holds out the last 10% of its text when the config names neither fraction.
DEFAULT_HELD_OUT_FRACTION = 0.05  # validation, then the same again for test


class CorpusDataConfig(TokenizedDataConfig):
    """One text a language model reads in order (characters or words)."""

    renamed: ClassVar[dict[str, str]] = {"sequence_length": "chunk_length"}

    val_fraction: float = Field(DEFAULT_HELD_OUT_FRACTION, ge=0, lt=1)
    test_fraction: float = Field(DEFAULT_HELD_OUT_FRACTION, gt=0, lt=1)
    tokenizer: Literal["word", "char"] = "char"
    text_column: str = "text"  # a .csv/.tsv/.jsonl source: the column whose texts make the corpus
    chunk_length: PositiveInt = 50  # the steps of truncated backpropagation through time
    stateful: bool = True  # contiguous chunks, state carried across (detached); false: independent windows


class SeriesDataConfig(DataConfig):
    """A time series in a CSV: a time column, target column(s), optional covariates."""

    encoding: str = "utf-8"
    # None: the first column; a list assembles the timestamp from parts, e.g. [year, month, day, hour];
    # "none": no time column, the rows are consecutive steps (the season from the autocorrelation)
    time_column: str | list[str] | None = None
    target: str | list[str] | None = None  # None: the only numeric column
    covariates: list[str] = Field(default_factory=list)
    # calendar inputs (data/calendar.py): auto picks them from the step; none; or e.g. [hour,dayofweek]
    calendar: str | list[str] = "auto"
    missing: Literal["error", "interpolate", "ffill"] = "error"
    scaler: Literal["standard", "minmax", "none"] = "standard"  # fitted on the training part only
    # input length; auto: at least one full detected season plus the horizon (see pipelines/forecast.py)
    window: PositiveInt | Literal["auto"] = 24
    horizon: PositiveInt = 1  # steps predicted
    stride: PositiveInt = 1  # between consecutive training windows
    period: PositiveInt | None = None  # seasonal period (seasonal naive, MASE); None: detected
    backtest_stride: PositiveInt | None = None  # steps between test forecast origins; None: horizon

    @field_validator("time_column", "target", "covariates", mode="before")
    @classmethod
    def _column_names_as_text(cls, value: Any) -> Any:
        return _integer_as_text(value)


class SyntheticDataConfig(DataConfig):
    """Sequences drawn by trainlab (copy task, adding problem, trend-sine-walk, polynomial)."""

    sequence_length: PositiveInt = 50  # steps of a sequence (the copy task: the delay)
    num_examples: PositiveInt = 10_000
    alphabet_size: PositiveInt = 8  # copy task
    noise: NonNegativeFloat = 0.1  # polynomial regression, trend-sine-walk


DATA_SECTIONS: tuple[type[DataConfig], ...] = (
    ImageDataConfig, TextDataConfig, CorpusDataConfig, SeriesDataConfig, SyntheticDataConfig,
)
