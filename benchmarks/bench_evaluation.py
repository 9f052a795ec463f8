"""Speed and memory of scoring MIDI files: tunelab (1 process, N processes) vs MusPy, in one run.

    python benchmarks/bench_evaluation.py [--n 300] [--jobs 2]
    python benchmarks/bench_evaluation.py --memory 10000 [--jobs 2]

Files: Bach chorales from ``data/bach-chorales`` (built first if missing, not timed).

Speed mode times, on the same files: tunelab's ``score_files`` (read_midi + every feature of
``compute_features``, 30+ features including key and chords) with 1 process and with ``--jobs`` processes, and
MusPy (``muspy.read_midi`` + the ten MusPy metrics that tunelab also computes: pitch_range, n_pitches_used,
n_pitch_classes_used, polyphony, polyphony_rate, pitch_entropy, pitch_class_entropy, and, with the bug
fixes listed in ``evaluation/features.py``, scale_consistency, empty_beat_rate, groove_consistency). It
prints files/s of each, the ratio tunelab/MusPy (goal >= 10x), the speed-up with ``--jobs`` processes, and
peak RSS.

Memory mode scores ``--memory`` files (symbolic links cycling over the chorales), then compares them with
the first 300 as reference (``compare_sets``), and prints the peak RSS of this process and of its worker
processes (goal < 1 GB).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from evaluation.scoring import compare_sets, iter_midi_files, score_files
from tunelab.testing.corpora import chorale_files as built_chorales


def chorale_files(n: int, folder: Path) -> list[Path]:
    """``n`` chorale MIDI files copied into ``folder`` (so a corpus rebuilt meanwhile cannot disturb the run)."""
    return [Path(shutil.copy(source, folder / f"{index:04d}_{source.name}"))
            for index, source in enumerate(built_chorales(n))]


def muspy_metrics(path: Path, resolution: int | None = None) -> dict[str, float]:
    """The ten MusPy metrics; ``resolution`` (ticks per quarter) first rescales the music, as MusPy allows."""
    import muspy  # noqa: PLC0415

    music = muspy.read_midi(path)
    if resolution is not None:
        music.adjust_resolution(resolution)
    return {
        "pitch_range": muspy.pitch_range(music),
        "n_pitches_used": muspy.n_pitches_used(music),
        "n_pitch_classes_used": muspy.n_pitch_classes_used(music),
        "polyphony": muspy.polyphony(music),
        "polyphony_rate": muspy.polyphony_rate(music),
        "pitch_entropy": muspy.pitch_entropy(music),
        "pitch_class_entropy": muspy.pitch_class_entropy(music),
        "scale_consistency": muspy.scale_consistency(music),
        "empty_beat_rate": muspy.empty_beat_rate(music),
        "groove_consistency": muspy.groove_consistency(music, measure_resolution=4 * music.resolution),
    }


def tunelab_metrics(path: Path) -> dict[str, float]:
    """The same ten metrics with tunelab: one read with ``read_midi``, then pure functions on the arrays."""
    from evaluation import pitch, read_midi, rhythm  # noqa: PLC0415

    piece = read_midi(path).pitched()
    return {
        "pitch_range": pitch.pitch_range(piece),
        "n_pitches_used": pitch.n_pitches_used(piece),
        "n_pitch_classes_used": pitch.n_pitch_classes_used(piece),
        "polyphony": pitch.polyphony(piece),
        "polyphony_rate": pitch.polyphony_rate(piece),
        "pitch_entropy": pitch.pitch_entropy(piece),
        "pitch_class_entropy": pitch.pitch_class_entropy(piece),
        "scale_consistency": pitch.scale_consistency(piece),
        "empty_beat_rate": rhythm.empty_beat_rate(piece),
        "groove_consistency": rhythm.groove_consistency(piece),
    }


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child, in MiB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def timed(label: str, work) -> tuple[float, float]:
    """Run ``work`` (returns a file count); print and return (files per wall second, per CPU second of this
    process). The CPU figure is robust to other load on the machine but misses worker processes."""
    start, cpu_start = time.perf_counter(), time.process_time()
    count = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(
        f"{label:<52} {count:5d} files: wall {seconds:7.2f} s = {count / seconds:7.1f} files/s; "
        f"CPU {cpu:7.2f} s = {count / cpu:7.1f} files/s",
        flush=True,
    )
    return count / seconds, count / cpu


def speed(n: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tunelab_bench_") as folder:
        _speed(chorale_files(n, Path(folder)), jobs)


def _speed(files: list[Path], jobs: int) -> None:
    print(f"{len(files)} chorale files; CPU cores: {os.cpu_count()}", flush=True)
    score_files(files[:5], progress=False)  # warm up imports (features, harmony) outside the timing
    import muspy  # noqa: F401, PLC0415  (its ~3 s import is not timed either)

    muspy_metrics(files[0])

    def tunelab(job_count: int, paths: list[Path] = files):
        def run() -> int:
            rows, errors = score_files(paths, jobs=job_count, progress=False)
            if errors:
                print(f"  {len(errors)} errors, first: {errors[0]}")
            return len(rows)

        return run

    def same_ten() -> int:
        for path in files:
            tunelab_metrics(path)
        return len(files)

    def with_muspy(resolution: int | None):
        def run() -> int:
            for path in files:
                muspy_metrics(path, resolution)
            return len(files)

        return run

    single = timed("tunelab score_files (all features, 1 process)", tunelab(1))
    many = (files * (3000 // len(files) + 1))[:3000]  # enough work that starting the pool does not dominate
    serial_many = timed("tunelab score_files, 3000 files (1 process)", tunelab(1, many))
    parallel = timed(f"tunelab score_files, 3000 files ({jobs} jobs; CPU = main only)", tunelab(jobs, many))
    ten = timed("tunelab read_midi + the same 10 metrics", same_ten)
    reference = timed("MusPy read_midi + 10 metrics (file's resolution)", with_muspy(None))
    coarse = timed("MusPy read_midi + 10 metrics (resolution -> 24/quarter)", with_muspy(24))
    own, children = peak_rss_mib()
    print(
        f"like for like (the same 10 metrics, 1 process): tunelab / MusPy wall {ten[0] / reference[0]:.1f}x, "
        f"CPU {ten[1] / reference[1]:.1f}x; against MusPy at 24 ticks/quarter: wall {ten[0] / coarse[0]:.1f}x, "
        f"CPU {ten[1] / coarse[1]:.1f}x"
    )
    print(
        f"all of tunelab's 31 features vs MusPy's 10 (1 process): wall {single[0] / reference[0]:.1f}x, "
        f"CPU {single[1] / reference[1]:.1f}x "
        f"(goal >= 10x); against MusPy at 24 ticks/quarter: wall {single[0] / coarse[0]:.1f}x, "
        f"CPU {single[1] / coarse[1]:.1f}x"
    )
    print(
        "(MusPy's polyphony metrics build a piano roll at the file's resolution, e.g. 10080 ticks per "
        "quarter in music21's MIDI files, which is what makes the first MusPy line slow)"
    )
    print(f"speed-up with {jobs} jobs on 3000 files (wall): {parallel[0] / serial_many[0]:.2f}x "
          f"(load average now {os.getloadavg()[0]:.1f}: other work on the machine lowers it)")
    print(f"peak RSS: main process {own:.0f} MiB, largest worker {children:.0f} MiB")


def memory(count: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tunelab_memory_") as temporary:
        root = Path(temporary)
        (root / "sources").mkdir()
        (root / "links").mkdir()
        sources = chorale_files(300, root / "sources")
        for index in range(count):
            os.symlink(sources[index % len(sources)], root / "links" / f"{index:06d}.mid")
        paths = iter_midi_files(root / "links")
        start = time.perf_counter()
        rows, errors = score_files(paths, jobs=jobs, progress=True)
        scored = time.perf_counter() - start
        summary = compare_sets(rows[: len(sources)], {"all": rows}, progress=False)
        total = time.perf_counter() - start
    own, children = peak_rss_mib()
    print(
        f"scored {len(rows)} files ({len(errors)} errors) with {jobs} job(s) in {scored:.1f} s "
        f"({len(rows) / scored:.0f} files/s); with compare_sets {total:.1f} s; "
        f"mean overlap {summary['sets']['all']['distances']['mean_overlap']:.3f}"
    )
    print(f"peak RSS: main process {own:.0f} MiB, largest worker {children:.0f} MiB (goal < 1024 MiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="chorale files for the speed comparison (default 300)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run (default 2)")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="N",
        help="instead of the speed comparison, score N files (links to chorales) and print peak RSS",
    )
    args = parser.parse_args(argv)
    if args.memory:
        memory(args.memory, args.jobs)
    else:
        speed(args.n, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
