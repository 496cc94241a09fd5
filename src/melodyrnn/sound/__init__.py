"""Sound: hearing melodies. No torch.

``midi`` turns files and melodies into ``mido.MidiFile``s and absolute timelines, ``ports``
finds and opens MIDI output ports (python-rtmidi), ``playback`` sends a timeline on time
and silences the port when stopped, ``audio`` renders to samples with FluidSynth or a
built-in synthesiser. Beside ``music``: may import ``music`` and the base modules, and only
the command line imports it.
"""
