"""Sound: hearing melodies, and playing with a musician. No torch.

``midi`` turns files and melodies into ``mido.MidiFile``s and absolute timelines;
``systems`` knows the MIDI systems (ALSA, JACK, CoreMIDI, Windows) and why one is missing;
``ports`` finds and opens MIDI ports on them (``jack`` and ``connections`` see who is
connected); ``playback`` sends a timeline on time (``priority``: real-time scheduling where
allowed) and silences the port when stopped; ``phrases`` and ``jam`` listen to a player and
answer through a callback; ``audio`` renders to samples with FluidSynth or a built-in
synthesiser. Beside ``music``: may import ``music`` and the base modules, and only the
command line imports it.
"""
