"""The error a model file raises, and the problem type the checks pass up to it."""

from __future__ import annotations

HINT = (
    "The file is damaged, was not written by glassnet, or was modified; save the model again "
    "from the trained model."
)


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be loaded: damaged, hostile or not glassnet's.

    Attributes
    ----------
    path : str
        The file.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str, problem: str, hint: str = HINT) -> None:
        end = "" if problem.endswith((".", "?", "!")) else "."  # a check's own sentence
        super().__init__(f"Cannot load {path!r}: {problem}{end} {hint}")
        self.path = path
        self.problem = problem


class Invalid(Exception):
    """A problem found while checking a file; the reader adds the file's name (`ModelFileError`).

    Raised by every check in `glassnet.io` with the problem as its message, so that the checks
    do not need to know which file they look at.
    """
