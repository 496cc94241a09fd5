"""Music: the data model and everything between files and melodies. No torch.

Owns ``Note`` and ``Melody`` (``melody``), keys (``keys``), the song text format
(``notation``), the grid and skyline that turn sounding notes into a line (``quantize``),
transposition (``transpose``), the file readers (``readers``: MIDI via mido, MusicXML/ABC/
kern via music21), sources and the ingest cache (``sources``, ``cache``), the writers
(``writers``, ``scores``) and pictures (``pictures``). May import ``files``, ``settings`` and
``errors`` only.
"""
