"""The one exception type for problems a user can fix, and the exit codes the CLI uses."""

from __future__ import annotations

from pathlib import Path

#: Exit codes, documented in the README.
EXIT_INPUT = 2  # bad input: missing/unreadable/malformed file, bad option value
EXIT_MODEL = 3  # a model directory that cannot be used (missing, damaged, other version)
EXIT_INTERRUPTED = 130  # Ctrl-C


class PostaggerError(Exception):
    """A problem with the user's input, reported as one line naming the file (and line)."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __reduce__(self):  # pickled as its parts (errors come back from worker processes)
        return (type(self), (self.message, self.path, self.line))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return where + self.message


class MissingExtra(PostaggerError):
    """A command needs a library of an optional extra (TensorFlow and fastText: `train`)."""

    def __init__(self, library: str, needed_by: str, extra: str = "train"):
        super().__init__(f"{library} is not installed ({needed_by}): pip install 'postagger[{extra}]'")

    def __reduce__(self):
        return (PostaggerError, (self.message, self.path, self.line))


class ModelError(PostaggerError):
    """A model directory that is missing, damaged or from an incompatible version."""

    exit_code = EXIT_MODEL
