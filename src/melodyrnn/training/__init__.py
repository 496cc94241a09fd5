"""Training: episodes, one loop for every model and codec, and data-parallel groups.

``episodes`` cuts token streams into chunks (classic windows, or whole songs with
truncated BPTT; songs never share state), ``loop`` trains any ``SequenceModel`` on them
(``TrainConfig`` in ``config``, no torch), ``distributed`` shards batches across torchrun
processes, ``optim`` is Adam/AdamW in plain tensor operations (torch's optimisers import
``torch._dynamo`` on first use: seconds on every run). May import ``models``, ``codecs``,
``music`` and the base modules; not ``generation`` or ``evaluation``.
"""
