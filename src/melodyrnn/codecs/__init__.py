"""Codecs: the only code that knows what a token means.

``TokenCodec`` (``tokens``) is a vocabulary with paired ``encode``/``decode`` and a plain-dict
form for checkpoints; ``NoteCodec`` (``notes``) tokenises melodies, ``CharCodec`` (``text``)
characters, ``NumericCodec`` (``series``) float frames of CSV columns; ``registry`` rebuilds
any of them from a checkpoint. May import ``music`` and the base modules; no torch at
import time.
"""
