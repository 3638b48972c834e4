"""Typed, validated configuration: one section per concern, YAML load/save, `key=value` overrides.

A config is built from plain data (a YAML file, then dotted overrides from the command line) by
`build_config`, which turns the first validation problem into one `TrainlabError` line that names
the key, e.g. "unknown key 'optim.lrr' (did you mean 'optim.lr'?)".
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from trainlab import registry
from trainlab.data_options import (  # re-exported: the data sections are part of a config
    AugmentConfig,
    CorpusDataConfig,
    DataConfig,
    ImageDataConfig,
    SeriesDataConfig,
    SyntheticDataConfig,
    TextDataConfig,
)
from trainlab.errors import TrainlabError
from trainlab.sections import NamedSection, Section

__all__ = [
    "AugmentConfig", "Config", "CorpusDataConfig", "DataConfig", "ImageDataConfig", "NamedSection", "Section",
    "SeriesDataConfig", "SyntheticDataConfig", "TextDataConfig", "apply_overrides", "build_config",
    "build_data_config", "load_yaml", "parse_overrides", "to_yaml",
]


class ModelConfig(NamedSection):
    """Base of every model's config; each model registers its own subclass with its options."""

    name: str = "simple_cnn"


class ScheduleConfig(NamedSection):
    """Learning-rate schedule; periods are in epochs (fractions allowed), applied per step."""

    name: Literal["constant", "step", "multistep", "cosine", "onecycle", "plateau"] = "constant"
    warmup_epochs: NonNegativeFloat = 0.0  # linear warm-up from 0 (constant, step, multistep, cosine)
    step_size: PositiveInt = 30  # step: multiply by gamma every step_size epochs
    milestones: list[PositiveInt] = Field(default_factory=list)  # multistep: multiply by gamma at these epochs
    gamma: float = Field(0.1, gt=0, le=1)
    min_lr: NonNegativeFloat = 0.0  # cosine: the floor it anneals to
    pct_start: float = Field(0.3, gt=0, lt=1)  # onecycle: share of steps spent rising
    div_factor: PositiveFloat = 25.0  # onecycle: starts at lr / div_factor
    final_div_factor: PositiveFloat = 1e4  # onecycle: ends at lr / div_factor / final_div_factor
    factor: float = Field(0.1, gt=0, lt=1)  # plateau: multiply by factor ...
    patience: int = Field(5, ge=0)  # ... after this many epochs without improving train.monitor


class OptimConfig(NamedSection):
    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: PositiveFloat = 1e-3
    momentum: float | None = Field(None, ge=0, lt=1)  # sgd/rmsprop; resolved to 0.9 / 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: PositiveFloat = 1e-8
    weight_decay: NonNegativeFloat = 0.0  # decoupled for adamw, L2 for the others
    decay_bias_and_norm: bool = False  # by default biases and norm parameters are not decayed
    # sgd/adam/adamw update every parameter in one fused kernel: Adam's step 2.6-3.6x faster on the CPU
    # (benchmarks/README.md), the same results up to float32 rounding; rmsprop has no fused form.
    fused: bool = True
    schedule: ScheduleConfig = ScheduleConfig()

    @model_validator(mode="after")
    def _resolve_momentum(self) -> OptimConfig:
        if self.momentum is None and self.name in ("sgd", "rmsprop"):
            # object.__setattr__ skips validate_assignment, which would re-enter this validator.
            object.__setattr__(self, "momentum", 0.9 if self.name == "sgd" else 0.0)
        if self.nesterov and self.name != "sgd":
            raise ValueError(f"optim.nesterov applies to sgd only (optim.name is {self.name})")
        return self


class EarlyStoppingConfig(Section):
    patience: PositiveInt | None = None  # epochs without improvement before stopping; None: never
    min_delta: NonNegativeFloat = 0.0


class TrainConfig(Section):
    epochs: PositiveInt = 20
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")
    precision: Literal["32", "bf16", "fp16"] = "32"  # mixed: bf16 on CUDA or a bf16 CPU, fp16 on CUDA
    grad_clip_norm: PositiveFloat | None = None
    grad_clip_value: PositiveFloat | None = None
    accumulate_grad_batches: PositiveInt = 1
    # NHWC memory order for CNNs: oneDNN's and cuDNN's fast convolutions. On by default since
    # benchmarks/README.md measured the Trainer 1.34x (small CNN) and 1.26x (ResNet-20) faster on
    # the CPU; it changes results only by rounding, and models without 4-D weights ignore it.
    channels_last: bool = True
    # Denormal floats flushed to zero on the CPU (training/denormals.py): a BiLSTM classifier
    # trained 12x faster on an Intel CPU; results change only below float32's smallest normal.
    flush_denormals: bool = True
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # Loss weights for imbalanced classes: "balanced" weighs class c by N / (classes x N_c) of the
    # training split (scikit-learn's and Keras' rule). Like label smoothing it shapes the training
    # loss only, so validation and test losses stay comparable across runs.
    class_weights: Literal["none", "balanced"] = "none"
    monitor: str = "val_loss"  # used by early stopping, the best checkpoint and plateau schedules
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best: bool = True  # evaluate the best epoch's weights at the end, stopped early or not
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_as_text(cls, value: Any) -> Any:
        # YAML reads `precision: 32` (and `train.precision=32`) as the integer 32.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def monitor_mode(self) -> Literal["min", "max"]:
        if self.mode != "auto":
            return self.mode
        higher_is_better = ("accuracy", "f1", "precision", "recall")
        return "max" if any(word in self.monitor for word in higher_is_better) else "min"


class FinetuneConfig(Section):
    """Transfer learning from pretrained weights (`model.load_pretrained=PATH`).

    Layer groups are the model's top-level blocks from the input up to its head (`fc`, `head` or
    `classifier`); a Sequential block counts each of its children as a group.
    """

    freeze: Literal["none", "backbone"] = "none"  # backbone: train the head only
    unfreeze_epoch: PositiveInt | None = None  # staged: from this epoch on, the top groups train too
    unfreeze_groups: PositiveInt | None = None  # how many groups below the head unfreeze; None: all
    lr_decay: float = Field(1.0, gt=0, le=1)  # discriminative: group k below the head gets lr * lr_decay^k
    frozen_bn_eval: bool = True  # BatchNorm of frozen groups keeps its running statistics
    # freeze=backbone without augmentation: compute each image's backbone features once and train
    # the head on them (Keras' "feature extraction"); the same results, several times faster.
    cache_features: bool = True

    @property
    def active(self) -> bool:
        return self.freeze != "none" or self.lr_decay != 1.0

    @property
    def backbone_fixed(self) -> bool:
        """Whether the backbone computes the same features all run long (frozen, BN statistics too)."""
        return self.freeze == "backbone" and self.unfreeze_epoch is None and self.frozen_bn_eval


class DiagnosticsConfig(Section):
    """Measurements written to RUN_DIR/diagnostics/ as arrays (trainlab.diagnostics)."""

    grad_norms: bool = False  # per-layer gradient norms before clipping, global norm after clipping
    grad_norms_every: PositiveInt = 1  # optimizer steps between two records
    timestep_grads: bool = False  # dL/dh_t per step on a probe batch (recurrent sequence models)
    timestep_every_epochs: PositiveInt = 1
    probe_examples: PositiveInt = 64  # the probe batch: the first examples of the validation split
    spectral: bool = False  # eigenvalues of the recurrent matrices before and after training
    activations: bool = False  # sequence models: hidden states of one test input, gate means over time
    exploding_threshold: PositiveFloat = 1e3  # global norm above it: an exploding step
    vanishing_threshold: PositiveFloat = 1e-7  # a layer's norm below it: a vanishing step


class LogConfig(Section):
    """Extra records of training beyond RUN_DIR/history.csv."""

    tensorboard: bool = False  # scalar event files in RUN_DIR/tensorboard/ (needs `pip install tensorboard`)
    tensorboard_every_steps: PositiveInt | None = None  # also the training loss every N optimizer steps


class RunConfig(Section):
    seed: int = 0
    deterministic: bool = True  # deterministic CUDA kernels (CPU kernels always are)


class Config(Section):
    task: str
    data: SerializeAsAny[DataConfig] = ImageDataConfig()  # the task's kind of data (data_options.py)
    model: SerializeAsAny[ModelConfig] = ModelConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    run: RunConfig = RunConfig()
    diagnostics: DiagnosticsConfig = DiagnosticsConfig()
    log: LogConfig = LogConfig()


def build_config(raw: dict[str, Any]) -> Config:
    """Validate plain data into a Config; the model section is checked against its model's options,
    the data section against the options of the task's kind of data."""
    raw = copy.deepcopy(raw)
    if not isinstance(raw.get("task"), str):
        raise TrainlabError("no task given: name one, e.g. `trainlab train image-classification`")
    task = registry.tasks.get(raw["task"])  # an unknown task is an error listing the choices
    model_raw = raw.pop("model", {})
    if isinstance(model_raw, str):
        model_raw = {"name": model_raw}
    if not isinstance(model_raw, dict):
        raise TrainlabError(f"model: expected a section or a model name, got {model_raw!r}")
    if "name" not in model_raw:  # the task's default model, with the task's recipe for it
        model_raw = {**task.model_recipe(model_raw), **model_raw, "name": task.default_model}
        raw["train"] = _merged(task.default_train_options, raw.get("train"))
    model_class = registry.models.entry(model_raw["name"], raw["task"]).config_class
    model = _validate(model_class or ModelConfig, model_raw, prefix="model.")
    data = build_data_config(raw.pop("data", {}), raw["task"])
    config = _validate(Config, {**raw, "model": model, "data": data}, prefix="")
    # Fields of the chosen classes must survive the round trip to YAML and back.
    assert isinstance(config.model, model_class or ModelConfig) and isinstance(config.data, type(data))
    return config


def _merged(defaults: dict[str, Any], given: Any) -> Any:
    """`given` (a section as the config spells it) over `defaults`, section by section."""
    if not isinstance(given, dict):
        return copy.deepcopy(defaults) if given is None else given
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        merged[key] = _merged(defaults[key], value) if isinstance(defaults.get(key), dict) else value
    return merged


def build_data_config(raw: dict[str, Any], task: str) -> DataConfig:
    """Validate the data section of `task` (alone for `trainlab data show`), with the same one-line
    errors; a key in its old place or of another kind of data is mapped (data_options.py)."""
    section = registry.tasks.get(task).data_section
    return _validate(section, section.from_raw(raw), prefix="data.")


def validate_section(section: type[BaseModel], raw: Any, prefix: str) -> Any:
    """Validate plain data against any section, with the config's one-line errors (keys shown
    under `prefix`, e.g. 'sweep.')."""
    return _validate(section, raw, prefix)


def _validate(section: type[Section], raw: Any, prefix: str) -> Any:
    try:
        return section.model_validate(raw)
    except ValidationError as error:
        raise TrainlabError(_one_line(error.errors()[0], section, prefix)) from None


def _one_line(error: dict[str, Any], section: type[Section], prefix: str) -> str:
    key = prefix + ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, valid_keys(section, prefix), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}"
    message = error["msg"].removeprefix("Value error, ")
    if not key or message.startswith(key):
        return message
    return f"{key}: {message} (got {_as_written(error['input'])})"


def _as_written(value: Any) -> str:
    """A value as the user wrote it, also when it came from NumPy (a config built in a loop over
    np.arange, or from a DataFrame): `0`, not `np.int64(0)`."""
    return repr(_without_numpy(value))


def _without_numpy(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return type(value)(_without_numpy(item) for item in value)
    if isinstance(value, dict):
        return {key: _without_numpy(item) for key, item in value.items()}
    return value


def valid_keys(section: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key a section accepts, e.g. ['optim.lr', 'optim.schedule.name', ...]."""
    keys = []
    for name, field in section.model_fields.items():
        keys.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(valid_keys(annotation, f"{prefix}{name}."))
    return keys


def parse_overrides(pairs: list[str]) -> list[tuple[str, Any]]:
    """`['optim.lr=3e-4', 'model.channels=[16,32]']` -> `[('optim.lr', 0.0003), ...]` (YAML values)."""
    parsed = []
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise TrainlabError(f"override '{pair}' is not key=value (e.g. optim.lr=3e-4)")
        parsed.append((key.strip(), _parse_value(text)))
    return parsed


def _parse_value(text: str) -> Any:
    if re.fullmatch(r"[+-]?0[0-9]+", text.strip()):
        # YAML 1.1 reads 0101 as the octal number 65. As text it stays the column "0101", and a
        # number field reads it as the decimal 101 people mean.
        return text.strip()
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and not _is_quoted(text):
        try:  # YAML 1.1 reads "3e-4" as a string; numbers are what people mean.
            return float(value) if value.lower() not in ("nan", "inf", "-inf") else value
        except ValueError:
            return value
    return value


def _is_quoted(text: str) -> bool:
    """Whether a value was written in quotes (`data.target='"0"'`): text, whatever it looks like."""
    text = text.strip()
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""


def apply_overrides(raw: dict[str, Any], overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    """Set dotted keys in plain config data; a section given by name becomes `{name: ...}`."""
    raw = copy.deepcopy(raw)
    for key, value in overrides:
        *parents, leaf = key.split(".")
        node = raw
        for index, part in enumerate(parents):
            child = node.get(part, {})
            if isinstance(child, str):
                child = {"name": child}
            if not isinstance(child, dict):
                where = ".".join(parents[: index + 1])
                raise TrainlabError(f"'{key}': '{where}' is a value, not a section")
            node[part] = child
            node = child
        if key == "model" or key == "model.name":
            # Another model has other options: start its section afresh; the same model keeps them.
            current = raw.get("model", {})
            if isinstance(current, str):
                current = {"name": current}
            current_name = current.get("name", ModelConfig.model_fields["name"].default)
            raw["model"] = {**current, "name": value} if current_name == value else {"name": value}
            continue
        if isinstance(node.get(leaf), dict) and isinstance(value, str):
            # `optim=sgd` names the optimizer and keeps the section's other keys (lr, ...).
            node[leaf] = {**node[leaf], "name": value}
            continue
        node[leaf] = value
    return raw


def load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainlabError(f"config file '{path}' does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise TrainlabError(f"config file '{path}' is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise TrainlabError(f"config file '{path}' must hold a mapping of sections")
    return raw


def to_yaml(config: Config) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
