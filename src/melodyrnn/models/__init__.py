"""Models: small ``nn.Module``s with ``forward(x, state=None) -> (output, state)``, and PPM.

``network`` builds a ``SequenceModel`` from registries of input encoders and cores (LSTM,
GRU, RNN, window MLP, and the LSTM variants of ``cells``) from a ``ModelConfig``
(``config``, no torch); ``feeds`` say how a model consumes a sequence step by step;
``ppm`` is prediction by partial match; ``checkpoint`` bundles a trained network with its
codec and configs in one safe file. May import ``codecs``, ``music`` and the base modules.
"""
