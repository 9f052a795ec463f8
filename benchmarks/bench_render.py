"""Speed of stimulus preparation (FluidSynth render, clip processing, encoding): 1 worker vs N workers.

Renders ``--n`` Bach chorales (from ``data/bach-chorales/`` when it exists, else written to MIDI from
music21's bundled corpus in a temp dir) three ways in one run:

1. one pass in this process with each stage timed (render / make_clip / encode) → the share of each stage,
   once rendering each whole MIDI file and once rendering only up to the end of the clip + 2 s (what
   ``render_midi`` does by default) → the speed-up of cutting the MIDI before FluidSynth;
2. ``prepare_stimuli(jobs=1)``;
3. ``prepare_stimuli(jobs=--jobs)``.

Prints the real-time factor per core (seconds of rendered audio per second of wall time, divided by workers),
and the speed-up of N workers over 1 measured in the same run. Worker start-up is included (with
``--repeat 1``; the forkserver that prepare_stimuli starts is reused by later repeats).

    python benchmarks/bench_render.py [--n 12] [--jobs 2] [--clip-seconds 20] [--format mp3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from studies.stimuli import ClipSettings, encode_clip, make_clip, prepare_stimuli, render_midi


def chorale_midis(n: int, out_dir: Path) -> list[Path]:
    """``n`` chorale MIDI files of data/bach-chorales (built first if missing)."""
    from tunelab.testing.corpora import chorale_files  # noqa: PLC0415

    return chorale_files(n)


def cpu_seconds() -> float:
    """User + system CPU time (s) of this process and of the children it waited for (workers, FluidSynth)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_pass(sources: list[Path], settings: ClipSettings, whole: bool = False) -> dict[str, float]:
    """Serial pass with each stage timed (s) and the seconds of audio rendered / clipped.

    ``whole`` renders each whole MIDI file instead of stopping 2 s after the clip's end.
    """
    t = {"render": 0.0, "clip": 0.0, "encode": 0.0, "rendered_audio": 0.0, "clip_audio": 0.0}
    for src in sources:
        t0 = time.perf_counter()
        audio = render_midi(src, settings, whole=whole)
        t1 = time.perf_counter()
        clip = make_clip(audio, settings, name=str(src))
        t2 = time.perf_counter()
        encode_clip(clip, settings)
        t3 = time.perf_counter()
        t["render"] += t1 - t0
        t["clip"] += t2 - t1
        t["encode"] += t3 - t2
        t["rendered_audio"] += audio.shape[0] / settings.sample_rate
        t["clip_audio"] += clip.shape[0] / settings.sample_rate
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=12, help="number of chorales to render (default 12)")
    parser.add_argument("--jobs", type=int, default=2, help="workers of the parallel run (default 2)")
    parser.add_argument("--clip-seconds", type=float, default=20.0,
                        help="clip length in seconds; 0 = whole pieces (default 20)")
    parser.add_argument("--format", choices=("mp3", "ogg"), default="mp3", help="clip format (default mp3)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each configuration this many times and keep the fastest (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    settings = ClipSettings(clip_seconds=args.clip_seconds or None, audio_format=args.format)

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "midi").mkdir()
        sources = chorale_midis(args.n, tmp_path / "midi")
        load_before = os.getloadavg()[0]
        c0 = cpu_seconds()
        whole = timed_pass(sources, settings, whole=True)
        whole_cpu = cpu_seconds() - c0
        c0 = cpu_seconds()
        stages = timed_pass(sources, settings)
        serial_cpu = cpu_seconds() - c0
        walls: dict[int, float] = {1: float("inf"), args.jobs: float("inf")}
        for rep in range(max(1, args.repeat)):
            for jobs in (1, args.jobs):
                t0 = time.perf_counter()
                _, failures = prepare_stimuli(sources, tmp_path / f"out{jobs}-{rep}", settings, jobs=jobs,
                                              progress=False)
                walls[jobs] = min(walls[jobs], time.perf_counter() - t0)
                if failures:
                    print(f"failures with jobs={jobs}: {failures}", file=sys.stderr)
    busy = stages["render"] + stages["clip"] + stages["encode"]
    busy_whole = whole["render"] + whole["clip"] + whole["encode"]
    audio_s = stages["rendered_audio"]
    out = {
        "n_pieces": len(sources),
        "load_average_before": round(load_before, 2),
        "cpus": os.cpu_count(),
        "clip_seconds": settings.clip_seconds,
        "format": settings.audio_format,
        "rendered_audio_seconds": round(audio_s, 1),
        "whole_rendered_audio_seconds": round(whole["rendered_audio"], 1),
        "whole_render_seconds": round(whole["render"], 3),
        "cut_render_speedup": round(whole["render"] / stages["render"], 2),
        "cut_total_speedup": round(busy_whole / busy, 2),
        "cut_cpu_speedup": round(whole_cpu / serial_cpu, 2),
        "clip_audio_seconds": round(stages["clip_audio"], 1),
        "stage_seconds": {k: round(stages[k], 3) for k in ("render", "clip", "encode")},
        "encode_share": round(stages["encode"] / busy, 3),
        "render_share": round(stages["render"] / busy, 3),
        "wall_seconds": {str(j): round(w, 3) for j, w in walls.items()},
        "rtf_per_core": {str(j): round(audio_s / w / j, 1) for j, w in walls.items()},
        "serial_cpu_seconds": round(serial_cpu, 2),
        "rtf_per_cpu_second": round(audio_s / serial_cpu, 1),
        "load_average_after": round(os.getloadavg()[0], 2),
        "speedup": round(walls[1] / walls[args.jobs], 2),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['n_pieces']} chorales, {audio_s:.1f} s rendered → {out['clip_audio_seconds']} s of "
          f"{settings.audio_format} clips (clip_seconds={settings.clip_seconds}); "
          f"{out['cpus']} CPUs, load average {load_before:.2f} at start")
    print(f"cutting the MIDI 2 s after the clip: {out['whole_rendered_audio_seconds']} s → {audio_s:.1f} s "
          f"rendered; render {whole['render']:.2f} s → {stages['render']:.2f} s "
          f"({out['cut_render_speedup']}x), render+clip+encode {out['cut_total_speedup']}x, "
          f"CPU {out['cut_cpu_speedup']}x")
    print(f"stage time (1 process): render {stages['render']:.2f} s, clip {stages['clip']:.2f} s, "
          f"encode {stages['encode']:.2f} s → encoding {100 * out['encode_share']:.0f} % of the work; "
          f"CPU {serial_cpu:.2f} s = {out['rtf_per_cpu_second']}x real time per CPU second (load-independent)")
    for j, w in walls.items():
        print(f"jobs={j}: wall {w:.2f} s, real-time factor per core {audio_s / w / j:.1f}x")
    print(f"speed-up of {args.jobs} workers vs 1: {out['speedup']:.2f}x "
          f"(load average {out['load_average_after']:.2f} at the end; other work on the machine lowers it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
