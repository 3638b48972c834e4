"""One callback per file; all of them are importable from here."""

from trainlab.training.callbacks.base import Callback, MonitorCallback
from trainlab.training.callbacks.checkpointing import Checkpointing
from trainlab.training.callbacks.early_stopping import EarlyStopping
from trainlab.training.callbacks.gradient_clipping import GradientClipping
from trainlab.training.callbacks.history import HistoryCSV
from trainlab.training.callbacks.lr_scheduler import LearningRateScheduler
from trainlab.training.callbacks.nan_guard import NaNGuard
from trainlab.training.callbacks.progress import ProgressDisplay
from trainlab.training.callbacks.tensorboard import TensorBoardLogger

__all__ = [
    "Callback",
    "Checkpointing",
    "EarlyStopping",
    "GradientClipping",
    "HistoryCSV",
    "LearningRateScheduler",
    "MonitorCallback",
    "NaNGuard",
    "ProgressDisplay",
    "TensorBoardLogger",
]
