"""Generation: continuing a primer token by token.

``sampling`` chooses a token from logits (pure functions and ``Sampling``), ``constraints``
masks what may come next, ``steering`` turns a musician's wishes (key, range, bars) into
constraints, ``memory`` is a short-term model of the melody so far, ``decoding`` runs the
batched sampler and the beam search over a feed. May import ``models``, ``codecs``,
``music`` and the base modules; not ``training`` or ``evaluation``.
"""
