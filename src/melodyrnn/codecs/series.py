"""Numeric series: CSV tables of float columns, a chronological split and per-column scaling.

``NumericCodec`` is the codec of the ``series`` kind: each time step is a frame of F float
features, standardised per column with the mean and spread of the *training* rows only (so
nothing leaks from held-out rows), and turned back into real units on output. Frames go
through the same episodes, models and trainer as token ids (``data.as_stream``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from melodyrnn.errors import MelodyError, ParseError
from melodyrnn.files import read_bytes

MAX_HEADER_COLUMNS = 10_000
MAX_COLUMNS = 256  # used as model inputs
SHOWN_CELL = 40
MAX_VALUE = 1e150  # squares stay finite when the spread is fitted


@dataclass(frozen=True)
class SeriesTable:
    """Rows of float columns in time order (oldest first), with where they came from."""

    columns: tuple[str, ...]
    values: np.ndarray  # (rows, columns), float64
    source: str = "<series>"

    def __len__(self) -> int:
        return len(self.values)

    def column(self, name: str) -> np.ndarray:
        """The values of one column."""
        return self.values[:, self.index(name)]

    def index(self, name: str) -> int:
        """Position of a column; MelodyError naming the known columns if it is absent."""
        if name not in self.columns:
            raise MelodyError(f"{self.source}: no column {name!r}; the columns are "
                              f"{', '.join(self.columns)}")
        return self.columns.index(name)

    def select(self, names: Sequence[str]) -> SeriesTable:
        """The table with only ``names``, in that order."""
        indices = [self.index(name) for name in names]
        return SeriesTable(tuple(names), self.values[:, indices], self.source)

    def rows(self, start: int, stop: int | None = None) -> SeriesTable:
        """Rows ``start:stop`` as a table."""
        return SeriesTable(self.columns, self.values[start:stop], self.source)


def _cells(line: str, source: str, number: int) -> list[str]:
    """The cells of one CSV line; a ParseError naming the line if the csv module refuses it
    (a field over its 131,072-character limit)."""
    try:
        return next(csv.reader([line]))
    except csv.Error as err:
        raise ParseError(f"not CSV: {err}", source, number) from None


def _shown(cell: str) -> str:
    """A cell for an error message: quoted, and cut if long."""
    return repr(cell) if len(cell) <= SHOWN_CELL else f"{cell[:SHOWN_CELL]!r}... ({len(cell):,} characters)"


def parse_csv(text: str, source: str = "<csv>", columns: Sequence[str] | None = None
              ) -> SeriesTable:
    """A table from CSV text with a header row; ``columns`` picks and orders the columns.

    Without ``columns``, every column whose first value is a number is used (so a date
    column is skipped). A header may start with ``#``. An empty or non-numeric cell in a
    used column is a ParseError naming the file, line and column.
    """
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip()]
    if not lines:
        raise ParseError("empty file: expected a header row and numbers", source)
    header_line, header_text = lines[0]
    header = [name.strip() for name in _cells(header_text.lstrip("#"), source, header_line)]
    if len(header) > MAX_HEADER_COLUMNS:
        raise ParseError(f"{len(header):,} columns: expected at most {MAX_HEADER_COLUMNS:,}",
                         source, header_line)
    rows = [(number, [cell.strip() for cell in _cells(line, source, number)])
            for number, line in lines[1:]]
    if not rows:
        raise ParseError("no data rows after the header", source, header_line)
    if columns is None:
        first = rows[0][1]
        columns = [name for i, name in enumerate(header)
                   if i < len(first) and _is_number(first[i])]
        if not columns:
            raise ParseError("no numeric column in the first data row", source, rows[0][0])
    missing = [name for name in columns if name not in header]
    if missing:
        raise ParseError(f"no column {', '.join(map(repr, missing))}; the header has "
                         f"{', '.join(header)}", source, header_line)
    if len(columns) > MAX_COLUMNS:
        raise ParseError(f"{len(columns):,} numeric columns: expected at most {MAX_COLUMNS} "
                         "(pick some with --columns)", source, header_line)
    indices = [header.index(name) for name in columns]
    values = np.empty((len(rows), len(columns)))
    for r, (number, cells) in enumerate(rows):
        for c, (name, i) in enumerate(zip(columns, indices)):
            cell = cells[i] if i < len(cells) else ""
            if cell == "":
                raise ParseError(f"missing value in column {name!r}", source, number, i + 1)
            try:
                values[r, c] = float(cell)
            except ValueError:
                raise ParseError(f"{_shown(cell)} in column {name!r} is not a number", source,
                                 number, i + 1) from None
            if not math.isfinite(values[r, c]):
                raise ParseError(f"{_shown(cell)} in column {name!r} is not a finite number",
                                 source, number, i + 1)
    return SeriesTable(tuple(columns), values, source)


def read_csv(path: str | Path, columns: Sequence[str] | None = None) -> SeriesTable:
    """A table from a CSV file (see ``parse_csv``)."""
    path = Path(path)
    try:
        text = read_bytes(path, what="CSV file").decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParseError(f"not UTF-8 text (byte {err.start})", str(path)) from None
    return parse_csv(text, str(path), columns)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def chronological_split(table: SeriesTable, valid_fraction: float
                        ) -> tuple[SeriesTable, SeriesTable]:
    """The first rows for training and the last ``valid_fraction`` held out: never shuffled."""
    held = round(len(table) * valid_fraction)
    return table.rows(0, len(table) - held), table.rows(len(table) - held)


def window_items(values: np.ndarray, width: int) -> list[np.ndarray]:
    """Every run of ``width + 1`` consecutive rows: W frames of context and the next frame."""
    return [values[i : i + width + 1] for i in range(len(values) - width)]


@dataclass
class NumericCodec:
    """Float frames, standardised per column with training-row statistics; inverted on decode."""

    columns: list[str]
    mean: list[float]
    scale: list[float]
    target: str
    kind: ClassVar[str] = "series"
    target_kind: ClassVar[str] = "value"
    input: ClassVar[str] = "features"
    end_id: ClassVar[None] = None

    @classmethod
    def fit(cls, table: SeriesTable, target: str | None = None) -> NumericCodec:
        """Scaling fitted on ``table`` — give it the training rows only."""
        if len(table) < 2:
            raise MelodyError(f"{table.source}: need at least 2 training rows, got {len(table)}")
        target = target or table.columns[-1]
        table.index(target)
        biggest = np.abs(table.values).max(axis=0)
        for name, value in zip(table.columns, biggest):
            if value > MAX_VALUE:  # its mean and spread would overflow to infinity
                raise MelodyError(f"{table.source}: column {name!r} holds {value:.3g}: expected "
                                  f"values within ±{MAX_VALUE:.0e}")
        spread = table.values.std(axis=0)
        scale = [float(s) if s > 1e-12 else 1.0 for s in spread]  # a constant column stays put
        return cls(list(table.columns), [float(m) for m in table.values.mean(axis=0)], scale,
                   target)

    @property
    def vocab_size(self) -> int:
        """Number of features per frame (the model's input and output size)."""
        return len(self.columns)

    @property
    def tokens(self) -> list[str]:
        """The column names (what ``codec.describe`` shows)."""
        return list(self.columns)

    @property
    def target_index(self) -> int:
        """Position of the target column in a frame."""
        return self.columns.index(self.target)

    def scale_values(self, values: np.ndarray) -> np.ndarray:
        """Raw values (T, F) in standard units."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.scale

    def unscale_values(self, values: np.ndarray) -> np.ndarray:
        """Standard units (T, F) back in raw units."""
        return np.asarray(values, dtype=np.float64) * self.scale + self.mean

    def encode(self, item: SeriesTable | np.ndarray, source: str = "input") -> Any:
        """Scaled float frames (T, F) as a torch tensor; a table must have the codec's columns."""
        import torch

        if isinstance(item, SeriesTable):
            item = item.select(self.columns).values
        values = np.asarray(item, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise MelodyError(f"{source}: expected rows of {len(self.columns)} values "
                              f"({', '.join(self.columns)}), got shape {values.shape}")
        return torch.as_tensor(self.scale_values(values), dtype=torch.float32)

    def decode(self, frames: Any, like: Any = None) -> np.ndarray:
        """Raw values (T, F) of scaled frames (a tensor or an array)."""
        if hasattr(frames, "detach"):
            frames = frames.detach().cpu().numpy()
        return self.unscale_values(frames)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return {"kind": self.kind, "columns": list(self.columns), "mean": list(self.mean),
                "scale": list(self.scale), "target": self.target}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericCodec:
        """The codec of ``to_dict``'s data."""
        return cls(list(data["columns"]), [float(x) for x in data["mean"]],
                   [float(x) for x in data["scale"]], str(data["target"]))


def format_csv(columns: Sequence[str], values: np.ndarray, first_step: int = 1) -> str:
    """Rows as CSV text with a ``step`` column first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *columns])
    for i, row in enumerate(np.asarray(values)):
        writer.writerow([first_step + i, *(f"{x:.6g}" for x in row)])
    return out.getvalue()
