"""Codecs by kind, and rebuilding one from the plain-dict form stored in checkpoints."""

from __future__ import annotations

from typing import Any

from melodyrnn.codecs.notes import NoteCodec
from melodyrnn.codecs.series import NumericCodec
from melodyrnn.codecs.text import CharCodec
from melodyrnn.codecs.tokens import TokenCodec
from melodyrnn.errors import MelodyError

CODECS: dict[str, type[TokenCodec] | type[NumericCodec]] = {
    "notes": NoteCodec, "text": CharCodec, "series": NumericCodec,
}


def codec_from_dict(data: dict[str, Any]) -> TokenCodec | NumericCodec:
    """Rebuild a codec from its plain-dict form."""
    codec_class = CODECS.get(data.get("kind", ""))
    if codec_class is None:
        raise MelodyError(f"unknown codec kind {data.get('kind')!r}")
    if hasattr(codec_class, "from_dict"):  # codecs with more than a token list
        return codec_class.from_dict(data)
    if codec_class is NoteCodec:
        return NoteCodec(list(data["tokens"]), end_token=bool(data.get("end_token", False)),
                         frame=str(data.get("frame", "absolute")),
                         grid=bool(data.get("grid", False)))
    return codec_class(list(data["tokens"]), end_token=bool(data.get("end_token", False)))


