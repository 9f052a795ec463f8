"""Music generators: corpora become training sequences (``preprocess``, ``pipeline``, ``encodings``,
``datasets``, ``prepare``), round trips are measured (``roundtrip``), models of ``models`` are trained
(``train``, from a corpus: ``runs``), scored (``evaluate``, ``run_evaluation``) and sampled (``sample``,
``run_sampling``), and baselines sample MIDI (``baselines``). CLI: ``python -m generation prepare |
roundtrip | encodings | markov | train | presets | evaluate | sweep | sample | activations``;
:mod:`generation.workflow` gathers what the app and the experiments call."""
