"""Music generators: corpora become training sequences (``preprocess``, ``pipeline``, ``encodings``,
``datasets``, ``prepare``), round trips are measured (``roundtrip``), and baselines sample MIDI
(``baselines``); the LSTM models live in ``models``. CLI: ``python -m generation prepare | roundtrip |
encodings | markov``."""
