"""The command line: one module per command group, thin over ``pipeline``.

``main`` (the click group) lives in ``main``; ``common`` and ``options`` are shared by every
command; ``streams`` routes ``--kind text|series``. Commands import heavy packages (torch,
music21) inside their bodies, so ``melodyrnn --help`` stays instant. May import everything
below it; nothing imports it.
"""

from melodyrnn.cli.main import main

__all__ = ["main"]
