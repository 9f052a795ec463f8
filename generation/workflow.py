"""What the app, the CLI and the experiments call to train, score and sample runs, in one place:

- :func:`train_from_corpus` (``generation.runs``): prepare a corpus (cached) and train a run folder;
- :func:`evaluate_run` (``generation.run_evaluation``): score a run on a corpus split beside the baselines;
- :func:`sample_run` (``generation.run_sampling``): write a run's samples as MIDI (+ ABC) and JSON;
- :func:`list_runs` (``generation.runs``): the run folders under a folder, with their metrics.
"""

from __future__ import annotations

from generation.run_evaluation import RunEvaluation, evaluate_run, format_evaluation
from generation.run_sampling import Primer, SampleRunResult, sample_run
from generation.runs import RunSummary, TrainedRun, list_runs, read_run_info, runs_dir, train_from_corpus

__all__ = ["Primer", "RunEvaluation", "RunSummary", "SampleRunResult", "TrainedRun", "evaluate_run",
           "format_evaluation", "list_runs", "read_run_info", "runs_dir", "sample_run", "train_from_corpus"]
