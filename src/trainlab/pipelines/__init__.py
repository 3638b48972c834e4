"""One pipeline per task: what its data becomes before training, and what a finished run adds.

A task is one module here with one Pipeline subclass (pipelines/base.py says what it declares),
registered under the task's name; importing this package registers every task. To add a task,
write its module and add it to the import line below (CONTRIBUTING.md).
"""

from trainlab.pipelines import (  # registers the tasks
    forecast,
    image_classification,
    language_model,
    sequence,
    text_classification,
)
from trainlab.pipelines.base import Pipeline, build_pipeline

__all__ = ["Pipeline", "build_pipeline", "forecast", "image_classification", "language_model",
           "sequence", "text_classification"]
