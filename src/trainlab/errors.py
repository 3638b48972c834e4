"""Errors the command line turns into one line on stderr instead of a traceback."""


class TrainlabError(Exception):
    """Something the user asked for cannot be done: what was expected, what was received, what to do.

    The CLI prints it as one line and exits with `exit_code`.
    """

    exit_code = 2


class TrainingDiverged(TrainlabError):
    """Training stopped because the loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 1
