"""Evaluation: how good a model is.

``protocols`` are the classic one-step and full-song scores and bits per token; ``pitch``
the music-cognition protocol (pitch-only bits, durations summed out); ``crossval`` folds by
melody (a network per fold comes from the trainer ``pipeline`` passes in);
``samplestats`` compares generated melodies with real ones; ``forecast`` scores numeric
series. May import ``models``, ``codecs``, ``music`` and the base modules; not ``training``
or ``generation``.
"""
