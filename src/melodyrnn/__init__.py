"""melodyrnn: learn melodies with stateful recurrent networks and continue them."""

__version__ = "0.1.0"
