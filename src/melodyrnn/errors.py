"""The project's exception types; the CLI turns them into clean one-line messages."""

from __future__ import annotations


class MelodyError(Exception):
    """Base class for every error a user can cause: bad input, missing model, bad option."""


class ParseError(MelodyError):
    """Text that cannot be read, with the place it went wrong."""

    def __init__(self, message: str, source: str = "<input>", line: int | None = None,
                 column: int | None = None) -> None:
        self.source, self.line, self.column, self.reason = source, line, column, message
        place = source
        if line is not None:
            place += f":{line}"
            if column is not None:
                place += f":{column}"
        super().__init__(f"{place}: {message}")


class CheckpointError(MelodyError):
    """A file that is missing or is not a usable melodyrnn checkpoint."""


class VocabularyError(MelodyError):
    """A token the model has never seen."""


class DependencyError(MelodyError):
    """An optional component (system package or library) that is not installed."""


class FileError(MelodyError, OSError):
    """A file that cannot be read or written safely: its path and the reason, in one line.

    Also an ``OSError``, so code that handles failed writes as OS errors still does.
    """
