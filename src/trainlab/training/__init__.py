"""The training loop, its state, tasks, optimizers, schedules, checkpoints and callbacks."""

from trainlab.training.state import TrainState
from trainlab.training.tasks import ClassificationTask
from trainlab.training.trainer import Trainer

__all__ = ["ClassificationTask", "TrainState", "Trainer"]
