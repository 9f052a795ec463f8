"""The main job (`make demo`): corpus → Markov baseline → scores → a 12-clip Turing study → the app.

Each step is skipped when its output already exists, so a second run only starts the app. Outputs:
``data/bach-chorales/`` (corpus), ``runs/demo/`` (baseline pieces, study folders, study code, the study's
listener-cue table ``study_cues.txt``), ``reports/demo/report.html`` (scores), the study in the default
database ``data/studies.db``.

The study's two sets sound alike apart from the music: every clip is played by one instrument at one tempo
with one velocity scale (the ``[stimuli]`` table of its study file), and the 6 chorales and 6 Markov pieces
are chosen from the chorales the baseline did not learn from (validation and test splits) and all sampled
pieces by nearest-neighbour matching on register, note density and the other cues
(:func:`studies.cues.match_sets`), so no cue separates the sets. The Markov chords-per-beat model has no
passing notes, so its pieces are sparser than most chorales: only a corpus of some size (the full corpus of
350 chorales gives 70 candidates) holds enough sparse chorales to match; with a small corpus the study is created
anyway and the density warning printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from tunelab import REPO_ROOT as REPO

RUN_DIR = REPO / "runs" / "demo"
REPORT_DIR = REPO / "reports" / "demo"
STUDY_TOML = """\
title = "Bach chorales: human or machine?"
consent = "A tunelab demo. Your participant id, answers and clip plays are stored in a database on this computer."
instructions = "Listen to each clip to the end, then say whether a human or a computer composed it."
test_type = "turing"
allow_confidence = true
trials_per_participant = 12
clip_seconds = 15.0
attention_checks = 0
seed = {seed}
require_full_playback = true

[[stimulus_sets]]
name = "bach"
kind = "human"
group = "chorale"
folder = "human"

[[stimulus_sets]]
name = "markov"
kind = "computer"
group = "chorale"
model = "markov-chords"
folder = "computer"

[stimuli]
program = 0                  # one instrument (piano) for every clip
mean_velocity = 80           # one velocity scale
tempo_bpm = 100              # one tempo (the chorales are written at 120 BPM, the Markov pieces at 80)
{soundfont}"""
N_PER_SET = 6


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def link_files(files: list[Path], folder: Path) -> None:
    """Fill ``folder`` with copies of ``files`` (copies, so the study folder stands on its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy2(file, folder / file.name)


def build_corpus(jobs: int) -> Path:
    from data import build_corpus as build  # noqa: PLC0415

    step("Bach chorale corpus (data/bach-chorales)")
    return build("bach-chorales", jobs=jobs)


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
    """Every chorale the baseline did not learn from (validation and test splits): the study's human candidates."""
    from data import corpus_files  # noqa: PLC0415

    folder = run_dir / "human-pool"
    if not any(folder.glob("*.mid")):
        link_files(corpus_files(corpus, split="validation") + corpus_files(corpus, split="test"), folder)
    return folder


def score(reference: Path, generated: Path, report_dir: Path, jobs: int) -> Path:
    report = report_dir / "report.html"
    step(f"Scoring the baseline against held-out chorales ({report})")
    if report.is_file():
        print("already scored")
        return report
    subprocess.run([sys.executable, "-m", "evaluation", "score", "--reference", str(reference),
                    "--generated", f"markov={generated}", "--out", str(report_dir), "--jobs", str(jobs)],
                   check=True, cwd=REPO)
    return report


def matched_sources(reference: Path, generated: Path, toml: str, k: int = N_PER_SET) -> tuple[list[Path], list[Path]]:
    """``k`` held-out chorales and ``k`` sampled pieces that sound alike besides the music (matched cues)."""
    from studies.cues import match_sets, measure_file  # noqa: PLC0415
    from studies.stimuli import ClipSettings  # noqa: PLC0415

    spec = tomllib.loads(toml)
    settings = ClipSettings.from_dict({**spec.get("stimuli", {}), "clip_seconds": spec["clip_seconds"]})
    human = [measure_file(f, settings, "bach", "human") for f in sorted(reference.glob("*.mid"))]
    computer = [measure_file(f, settings, "markov", "computer") for f in sorted(generated.glob("markov_*.mid"))]
    chosen_h, chosen_c = match_sets(human, computer, min(k, len(human), len(computer)))
    return ([reference / c.source for c in chosen_h], [generated / c.source for c in chosen_c])


def study(humans: Path, generated: Path, run_dir: Path, db_url: str | None, jobs: int, seed: int,
          media_dir: Path | None = None, soundfont: Path | None = None) -> str:
    from studies import StudyError, engine  # noqa: PLC0415
    from studies.cues import study_cues  # noqa: PLC0415
    from studies.spec import load_spec  # noqa: PLC0415

    code_file = run_dir / "study_code.txt"
    step(f"Demo Turing study ({N_PER_SET} human chorales vs {N_PER_SET} Markov pieces, 15 s clips, matched cues)")
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
    font = f'soundfont = "{Path(soundfont).as_posix()}"\n' if soundfont else ""
    toml = STUDY_TOML.format(seed=seed, soundfont=font)
    chosen, machines = matched_sources(humans, generated, toml)
    link_files(chosen, folder / "human")
    link_files(machines, folder / "computer")
    (folder / "study.toml").write_text(toml)
    report = study_cues(load_spec(folder / "study.toml"))
    (run_dir / "study_cues.txt").write_text(report.table() + "\n")
    print(report.table())
    for warning in report.warnings():
        print(f"warning: {warning}")
    code = engine.create_study(folder / "study.toml", db_url, media_dir=media_dir, jobs=jobs)
    code_file.write_text(code + "\n")
    print(f"created study {code}")
    return code


def prepare(corpus: Path, run_dir: Path, report_dir: Path, db_url: str | None, jobs: int, seed: int,
            media_dir: Path | None = None, soundfont: Path | None = None) -> str:
    """Every step after the corpus; each one is skipped when its output exists. Returns the study code.

    ``soundfont`` pins the study's soundfont (default: the first of the system's, see studies.stimuli)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    generated = markov_pieces(corpus, run_dir, n_pieces=30, seed=seed)
    reference = held_out(corpus, run_dir)
    score(reference, generated, report_dir, jobs)
    return study(human_pool(corpus, run_dir), generated, run_dir, db_url, jobs, seed, media_dir, soundfont)


def admin_password() -> str:
    if os.environ.get("TUNELAB_ADMIN_PASSWORD"):
        return os.environ["TUNELAB_ADMIN_PASSWORD"]
    file = RUN_DIR / "admin_password.txt"
    if not file.is_file():
        file.write_text(secrets.token_urlsafe(9) + "\n")
    return file.read_text().strip()


def serve(code: str, port: int, db_url: str | None) -> int:
    password = admin_password()
    env = dict(os.environ, TUNELAB_ADMIN_PASSWORD=password)
    if db_url:
        env["TUNELAB_STUDIES_DB"] = db_url
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, cwd=REPO, env=env)
    step("The app is starting")
    print(f"Participant link:   http://localhost:{port}/?study={code}&PROLIFIC_PID=demo-participant-1")
    print(f"Researcher pages:   http://localhost:{port}/  → 'Researcher login', password: {password}")
    print(f"Scores of the baseline: {REPORT_DIR / 'report.html'}")
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the baseline sampler and of the study")
    parser.add_argument("--no-app", action="store_true", help="prepare everything but do not start the app")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    code = prepare(build_corpus(args.jobs), RUN_DIR, REPORT_DIR, args.db, args.jobs, args.seed)
    print(f"\nprepared in {time.perf_counter() - started:.1f} s")
    if args.no_app:
        print(f"study code: {code}")
        return 0
    return serve(code, args.port, args.db)


if __name__ == "__main__":
    sys.exit(main())
