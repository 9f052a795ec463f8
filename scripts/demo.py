"""The main job (`make demo`): corpus -> a trained LSTM -> samples -> scores beside the Markov baseline -> a
12-clip Turing study of human chorales vs the LSTM -> the app.

Each step is skipped when its output already exists, so a second run only starts the app (in seconds).
Outputs: ``data/bach-chorales/`` (corpus), ``runs/demo/lstm/`` (the trained model: checkpoints, metrics.csv,
training.html), ``runs/demo/lstm-samples/`` and ``runs/demo/markov/`` (the generated pieces),
``reports/demo/report.html`` (both sets scored against the held-out chorales, ranked), ``runs/demo/study/``
(the study file and its clips, ``study_code.txt``, the listener-cue table ``study_cues.txt``), the study in the
default database ``data/studies.db``, and ``runs/demo/summary.txt`` (what the demo produced, in words).

The model (``DEMO_MODEL``): a one-layer LSTM of 256 units over multi-label frames at eighth-note steps (the
four voices' range, MIDI 36-84, every chorale transposed to C major or C minor), trained on the shifted
sequence for at most a few minutes on 2 CPU cores (on a GPU when there is one), stopping early when the
validation loss stops falling. On a CPU it trains with one torch thread (on 2 shared cores, two threads on
matrices this small were up to 20x slower). Samples draw every key of each frame from the model's
probabilities and continue the opening chord of a training chorale.

The study's two sets sound alike apart from the music: one instrument, one tempo, one velocity scale for every
clip, and the 6 chorales and 6 LSTM pieces are chosen by nearest-neighbour matching on the cues that remain
(register, note density, length; :func:`studies.create_from.write_matched_study`), from the chorales the model
did not learn from (validation and test splits) and all sampled pieces.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tunelab import REPO_ROOT as REPO

RUN_DIR = REPO / "runs" / "demo"
REPORT_DIR = REPO / "reports" / "demo"
N_PER_SET = 6
N_SAMPLES = 30
DEMO_MODEL: dict[str, Any] = {  # TrainConfig fields of the demo's LSTM
    "arch": "lstm", "encoding": "multilabel", "hidden": 256, "mode": "many-to-many", "window": 64, "batch_size": 32,
    "learning_rate": 0.002, "keep": 0.8, "epochs": 100, "patience": 5, "max_minutes": 4.0, "seed": 0,
    "encoding_options": {"step": 0.5, "low": 36, "high": 84, "transpose": "c-major-c-minor"},
}
DEMO_SAMPLES: dict[str, Any] = {"n": N_SAMPLES, "steps": 96, "temperature": 1.0, "tempo": 100.0}  # 48 beats each
STUDY_TITLE = "Bach chorales: human or machine?"
STUDY_CONSENT = ("A tunelab demo. Your participant id, answers and clip plays are stored in a database on this "
                 "computer.")


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def link_files(files: list[Path], folder: Path) -> None:
    """Fill ``folder`` with copies of ``files`` (copies, so the folder stands on its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy2(file, folder / file.name)


def build_corpus(jobs: int) -> Path:
    from data import build_corpus as build  # noqa: PLC0415

    step("Bach chorale corpus (data/bach-chorales)")
    return build("bach-chorales", jobs=jobs)


def demo_config(overrides: dict[str, Any] | None = None):  # -> generation.config.TrainConfig
    from generation.config import TrainConfig  # noqa: PLC0415

    return TrainConfig.from_dict({**TrainConfig().to_dict(), **DEMO_MODEL, **(overrides or {})}, "demo model")


def train_lstm(corpus: Path, run: Path, config: Any, progress: bool = True, threads: int | None = 1) -> Path:
    """The demo's LSTM in ``run``: trained unless a finished run with the same settings is there."""
    from generation.config import load_config  # noqa: PLC0415
    from generation.device import resolve_device  # noqa: PLC0415
    from generation.workflow import train_from_corpus  # noqa: PLC0415

    device = resolve_device(config.device)
    if device.type == "cpu" and threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)
    step(f"Training the LSTM ({run}; {config.hidden} units, {config.encoding} frames, on {device.type.upper()}, at "
         f"most {config.max_minutes:g} minutes)")
    saved = load_config(run / "config.toml") if (run / "config.toml").is_file() else None
    if saved == config and (run / "done.json").is_file():
        print(f"already trained: {_trained_summary(run)}")
        return run
    resume = saved == config and (run / "last.pt").is_file()
    if not resume and run.exists():
        shutil.rmtree(run)
    trained = train_from_corpus(corpus, config, run, resume=resume, progress=progress)
    print(f"trained in {sum(row.get('seconds', 0.0) for row in trained.result.metrics):.0f} s: "
          f"{_trained_summary(run)}")
    return run


def _trained_summary(run: Path) -> str:
    done = json.loads((run / "done.json").read_text(encoding="utf-8"))
    return (f"{done['epochs_run']} epochs, best validation frame NLL {done['best_valid_loss']:.2f} nats per frame "
            f"at epoch {done['best_epoch']} (training curves: {run / 'training.html'})")


def lstm_pieces(run: Path, out: Path, seed: int, settings: dict[str, Any] | None = None) -> Path:
    """Samples of the trained LSTM as MIDI in ``out`` (skipped when they were drawn with the same settings from
    the same checkpoint)."""
    from generation.config import SampleConfig  # noqa: PLC0415
    from generation.workflow import sample_run  # noqa: PLC0415

    config = SampleConfig.from_dict({**SampleConfig().to_dict(), **DEMO_SAMPLES, **(settings or {}), "seed": seed},
                                    "demo samples")
    step(f"Sampling {config.n} pieces from the LSTM ({out})")
    stamp = {"settings": config.to_dict(), "checkpoint_mtime": (run / "best.pt").stat().st_mtime}
    marker = out / "demo_samples.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == stamp and any(out.glob("*.mid")):
        print("already sampled")
        return out
    shutil.rmtree(out, ignore_errors=True)
    result = sample_run(run, config, out, prefix="lstm_", progress=True)
    marker.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    print(f"sampled {len(result.midi_files)} pieces with notes of {len(result.files)}")
    return out


def markov_pieces(corpus: Path, run_dir: Path, n_pieces: int, seed: int) -> Path:
    from data import corpus_files  # noqa: PLC0415
    from generation.baselines import generate_markov_set  # noqa: PLC0415

    out = run_dir / "markov"
    step(f"Markov chord baseline ({out})")
    if len(list(out.glob("markov_*.mid"))) >= n_pieces:
        print("already sampled")
        return out
    written, skipped = generate_markov_set(corpus_files(corpus, split="train"), out, n_pieces=n_pieces,
                                           n_beats=48, seed=seed)
    print(f"sampled {len(written)} pieces ({len(skipped)} training files skipped)")
    return out


def held_out(corpus: Path, run_dir: Path) -> Path:
    from data import corpus_files  # noqa: PLC0415

    folder = run_dir / "held-out"
    if not any(folder.glob("*.mid")):
        link_files(corpus_files(corpus, split="test"), folder)
    return folder


def human_pool(corpus: Path, run_dir: Path) -> Path:
    """Every chorale the models did not learn from (validation and test splits): the study's human candidates."""
    from data import corpus_files  # noqa: PLC0415

    folder = run_dir / "human-pool"
    if not any(folder.glob("*.mid")):
        link_files(corpus_files(corpus, split="validation") + corpus_files(corpus, split="test"), folder)
    return folder


def score(reference: Path, generated: dict[str, Path], report_dir: Path, jobs: int) -> Path:
    """``python -m evaluation score`` of every generated set against the held-out chorales, in one report."""
    report = report_dir / "report.html"
    step(f"Scoring {' and '.join(generated)} against the held-out chorales ({report})")
    summary = report_dir / "summary.json"
    if report.is_file() and summary.is_file() and \
            set(json.loads(summary.read_text(encoding="utf-8"))["sets"]) == {"reference", *generated}:
        print("already scored")
        return report
    command = [sys.executable, "-m", "evaluation", "score", "--reference", str(reference), "--out", str(report_dir),
               "--jobs", str(jobs)]
    for name, folder in generated.items():
        command += ["--generated", f"{name}={folder}"]
    subprocess.run(command, check=True, cwd=REPO)
    return report


def ranking_lines(report_dir: Path) -> list[str]:
    """The scored sets, closest to the held-out chorales first, in words."""
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    lines = []
    for entry in summary["ranking"]:
        test = summary["sets"][entry["name"]]["distances"]["classifier"]
        lines.append(f"{entry['rank']}. {entry['name']}: a classifier tells its pieces from the held-out chorales "
                     f"{test['accuracy']:.0%} of the time (95% CI {test['ci_low']:.0%}-{test['ci_high']:.0%}; 50% = "
                     f"cannot tell them apart); mean overlap of its feature distributions with the chorales' "
                     f"{entry['mean_overlap']:.2f} (1 = as close as chorales are to each other)")
    return lines


def study(humans: Path, generated: Path, run_dir: Path, db_url: str | None, jobs: int, seed: int,
          media_dir: Path | None = None, soundfont: Path | None = None, set_name: str = "lstm") -> str:
    """A matched Turing study of ``N_PER_SET`` human chorales vs as many generated pieces, created in the
    database (skipped when the study of ``study_code.txt`` is still there). Returns the study code."""
    from studies import StudyError, engine  # noqa: PLC0415
    from studies.create_from import StudyDefaults, write_matched_study  # noqa: PLC0415

    code_file = run_dir / "study_code.txt"
    step(f"Demo Turing study ({N_PER_SET} human chorales vs {N_PER_SET} {set_name} pieces, 15 s clips, matched cues)")
    if code_file.is_file():
        code = code_file.read_text().strip()
        try:
            engine.study_info(code, db_url)
            print(f"already created: {code}")
            return code
        except StudyError:
            print("the stored study code is not in the database any more: creating the study again")
    folder = run_dir / "study"
    shutil.rmtree(folder, ignore_errors=True)
    defaults = StudyDefaults(clip_seconds=15.0, program=0, mean_velocity=80, tempo_bpm=100.0, seed=seed,
                             trials_per_participant=2 * N_PER_SET, group="chorale", soundfont=soundfont,
                             consent=STUDY_CONSENT)
    made = write_matched_study(humans, {set_name: generated}, STUDY_TITLE, folder / "study.toml", per_set=N_PER_SET,
                               defaults=defaults, human_name="bach")
    (run_dir / "study_cues.txt").write_text(made.cue_table + "\n", encoding="utf-8")
    print(made.cue_table)
    for warning in made.warnings:
        print(f"warning: {warning}")
    code = engine.create_study(made.path, db_url, media_dir=media_dir, jobs=jobs)
    code_file.write_text(code + "\n")
    print(f"created study {code}")
    return code


def prepare(corpus: Path, run_dir: Path, report_dir: Path, db_url: str | None, jobs: int, seed: int,
            media_dir: Path | None = None, soundfont: Path | None = None, model: dict[str, Any] | None = None,
            samples: dict[str, Any] | None = None, progress: bool = True) -> str:
    """Every step after the corpus; each one is skipped when its output exists. Returns the study code.

    ``model`` and ``samples`` override fields of ``DEMO_MODEL`` / ``DEMO_SAMPLES`` (the tests' tiny model);
    ``soundfont`` pins the study's soundfont (default: the first of the system's, see studies.stimuli)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run = train_lstm(corpus, run_dir / "lstm", demo_config(model), progress=progress)
    lstm = lstm_pieces(run, run_dir / "lstm-samples", seed, samples)
    markov = markov_pieces(corpus, run_dir, n_pieces=N_SAMPLES, seed=seed)
    reference = held_out(corpus, run_dir)
    score(reference, {"lstm": lstm, "markov": markov}, report_dir, jobs)
    print("\n".join(ranking_lines(report_dir)))
    return study(human_pool(corpus, run_dir), lstm, run_dir, db_url, jobs, seed, media_dir, soundfont)


def admin_password(run_dir: Path = RUN_DIR) -> tuple[str, str]:
    """The researcher password and where it is kept."""
    if os.environ.get("TUNELAB_ADMIN_PASSWORD"):
        return os.environ["TUNELAB_ADMIN_PASSWORD"], "the TUNELAB_ADMIN_PASSWORD environment variable"
    file = run_dir / "admin_password.txt"
    if not file.is_file():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(secrets.token_urlsafe(9) + "\n")
    return file.read_text().strip(), str(file)


def summary_text(code: str, port: int, run_dir: Path, report_dir: Path) -> str:
    """What the demo produced, for a newcomer (also written to ``run_dir/summary.txt``)."""
    _, where = admin_password(run_dir)
    lines = ["What the demo made:",
             f"- an LSTM trained on the training chorales: {_trained_summary(run_dir / 'lstm')}",
             f"- {N_SAMPLES} pieces sampled from it ({run_dir / 'lstm-samples'}) and {N_SAMPLES} from a Markov chord "
             f"chain ({run_dir / 'markov'})",
             f"- both sets scored against the held-out chorales ({report_dir / 'report.html'}), closest first:",
             *(f"    {line}" for line in ranking_lines(report_dir)),
             f"- a blind listening test of {N_PER_SET} chorales vs {N_PER_SET} LSTM pieces (matched instrument, tempo, "
             f"loudness and density; {run_dir / 'study_cues.txt'}):",
             f"    participant link: http://localhost:{port}/?study={code}&PROLIFIC_PID=demo-participant-1",
             f"    researcher pages: http://localhost:{port}/ -> 'Researcher login'; the password is in {where}"]
    return "\n".join(lines)


def serve(code: str, port: int, db_url: str | None) -> int:
    password, where = admin_password()
    env = dict(os.environ, TUNELAB_ADMIN_PASSWORD=password)
    if db_url:
        env["TUNELAB_STUDIES_DB"] = db_url
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, cwd=REPO, env=env)
    step("The app is starting")
    print(f"Participant link:   http://localhost:{port}/?study={code}&PROLIFIC_PID=demo-participant-1")
    print(f"Researcher pages:   http://localhost:{port}/  -> 'Researcher login'; the password is in {where}")
    print(f"Scores of the LSTM and the baseline: {REPORT_DIR / 'report.html'}")
    print("Press Ctrl-C to stop the app.", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for building, scoring, rendering")
    parser.add_argument("--port", type=int, default=8501, help="port of the Streamlit app (default 8501)")
    parser.add_argument("--db", default=None, help="SQLAlchemy URL of the study database (default: data/studies.db)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samplers and of the study")
    parser.add_argument("--no-app", action="store_true", help="prepare everything but do not start the app")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    code = prepare(build_corpus(args.jobs), RUN_DIR, REPORT_DIR, args.db, args.jobs, args.seed)
    print(f"\nprepared in {time.perf_counter() - started:.1f} s")
    summary = summary_text(code, args.port, RUN_DIR, REPORT_DIR)
    (RUN_DIR / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    print(f"\n{summary}")
    if args.no_app:
        return 0
    return serve(code, args.port, args.db)


if __name__ == "__main__":
    sys.exit(main())
