"""Stimuli for blind listening studies: render, trim, fade, loudness-match, encode, and name opaquely.

Pipeline per source: MIDI → ``evaluation.read_midi`` → the study's normalisation (one instrument, velocity
scale or tempo for all: :mod:`studies.normalise`) → the events before the clip's end + 2 s
(:func:`studies.normalise.cut_piece`; the clip is bit-identical, the rendering shorter) → ``evaluation.write_midi``
→ FluidSynth (``fluidsynth -ni``, the command midi2audio runs) → float audio at ``sample_rate`` →
:func:`make_clip` (cut ``clip_seconds`` from ``start_seconds``, pad with silence, fades, integrated loudness to
``target_lufs`` per ITU-R BS.1770-4 via pyloudnorm, look-ahead peak limit) → :func:`encode_clip` (MP3 128 kbps
via lameenc, or Ogg Vorbis via soundfile; no tags) → ``<out_dir>/<clip_id>.<ext>``. What the read → write path
drops (controllers other than the sustain pedal, pitch bends) is listed in :mod:`studies.normalise`.

Nothing a participant can see reveals the condition: every clip has the same number of samples, the same
rate and channels, the same loudness, and a random id (never derived from the source file name).
Audio arrays are float32 ``(n_samples, n_channels)``; seconds, Hz, LUFS, dBFS throughout.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import numpy as np

from evaluation import MidiError, Piece, ReaderConfig, read_midi, write_midi
from studies import audio as A
from studies.errors import StudyError
from studies.normalise import Normalisation, cut_piece, normalise
from studies.spec import AUDIO_SUFFIXES
from tunelab import MIDI_SUFFIXES

INSTALL_HINT = A.INSTALL_HINT
#: peak (linear, = -80 dBFS) under which a rendering counts as silent: above 16-bit dither (-90 dBFS) and
#: FluidSynth's float output of an empty file (~-150 dBFS), below any audible note
SILENCE_PEAK = 10 ** (-80 / 20)
#: seconds of music rendered after the end of a clip (reverb and release tails reach into the clip's end)
RENDER_MARGIN_SECONDS = 2.0


def _soundfont_candidates() -> list[Path]:
    found = [Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")]
    try:
        import pretty_midi

        found.append(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")
    except ImportError:  # pretty_midi is optional here
        pass
    return found


@dataclass(frozen=True)
class ClipSettings:
    """How every clip of a study is made (one settings object for all clips, so they match)."""

    clip_seconds: float | None = 20.0  # clip length (s); None = whole piece, padded to the longest
    fade_seconds: float = 0.5  # fade-in and fade-out length (s)
    target_lufs: float = -23.0  # integrated loudness of every clip (LUFS, ITU-R BS.1770-4 / EBU R128)
    sample_rate: int = 44100  # Hz, of the rendering and of the encoded clip
    audio_format: str = "mp3"  # "mp3" (lameenc, CBR) or "ogg" (Vorbis via soundfile)
    soundfont: Path | None = None  # .sf2; None = first of TimGM6mb, FluidR3_GM, pretty_midi's TimGM6mb
    start_seconds: float = 0.0  # where the clip starts in the piece (s)
    fade_shape: str = "cosine"  # "cosine" (raised cosine) or "linear"
    channels: int = 2  # 1 or 2: every clip gets this many channels
    bitrate_kbps: int = 128  # MP3 bit rate
    peak_dbfs: float = -1.0  # ceiling of the peak limiter (dBFS)
    program: int | None = None  # MIDI stimuli: one General MIDI program (0..127) for every pitched note
    mean_velocity: float | None = None  # MIDI stimuli: scale each piece's velocities to this mean (1..127)
    tempo_bpm: float | None = None  # MIDI stimuli: one constant tempo (quarter notes per minute)

    def __post_init__(self) -> None:
        bad = []
        try:
            self.normalisation  # noqa: B018 - validates program, mean_velocity, tempo_bpm
        except StudyError as exc:
            bad.append(str(exc).removeprefix("bad normalisation: "))
        if self.clip_seconds is not None and not self.clip_seconds >= 1.0:
            bad.append(f"clip_seconds={self.clip_seconds!r} (use >= 1.0 s, or None for the whole piece)")
        if not self.fade_seconds >= 0:
            bad.append(f"fade_seconds={self.fade_seconds!r} (use >= 0)")
        elif self.clip_seconds is not None and 2 * self.fade_seconds > self.clip_seconds:
            bad.append(f"fade_seconds={self.fade_seconds!r} (fades longer than half of clip_seconds)")
        if not -70.0 < self.target_lufs < 0.0:
            bad.append(f"target_lufs={self.target_lufs!r} (use a value between -70 and 0, e.g. -23)")
        if not 8000 <= int(self.sample_rate) <= 192000:
            bad.append(f"sample_rate={self.sample_rate!r} (use e.g. 44100 or 48000)")
        if self.audio_format not in ("mp3", "ogg"):
            bad.append(f"audio_format={self.audio_format!r} (use 'mp3' or 'ogg')")
        if self.audio_format == "mp3" and int(self.sample_rate) not in (32000, 44100, 48000, 16000, 22050,
                                                                           24000, 8000, 11025, 12000):
            bad.append(f"sample_rate={self.sample_rate!r} is not an MP3 rate (use 44100 or 48000)")
        if not self.start_seconds >= 0:
            bad.append(f"start_seconds={self.start_seconds!r} (use >= 0)")
        if self.fade_shape not in ("cosine", "linear"):
            bad.append(f"fade_shape={self.fade_shape!r} (use 'cosine' or 'linear')")
        if self.channels not in (1, 2):
            bad.append(f"channels={self.channels!r} (use 1 or 2)")
        if not self.peak_dbfs <= 0:
            bad.append(f"peak_dbfs={self.peak_dbfs!r} (use <= 0, e.g. -1)")
        if bad:
            raise StudyError("bad clip settings: " + "; ".join(bad))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ClipSettings:
        """Build from a config table (e.g. a study TOML's ``[stimuli]``); unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise StudyError(f"unknown clip setting(s) {unknown}; known: {sorted(known)}")
        values = dict(values)
        if values.get("soundfont") is not None:
            values["soundfont"] = Path(values["soundfont"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (paths as strings) for TOML/JSON."""
        out = asdict(self)
        out["soundfont"] = None if self.soundfont is None else str(self.soundfont)
        return out

    @property
    def normalisation(self) -> Normalisation:
        """The cues made equal across MIDI stimuli (:mod:`studies.normalise`)."""
        return Normalisation(program=self.program, mean_velocity=self.mean_velocity, tempo_bpm=self.tempo_bpm)

    @property
    def n_samples(self) -> int | None:
        """Samples per clip, or None when clips are whole pieces."""
        return None if self.clip_seconds is None else int(round(self.clip_seconds * self.sample_rate))


@dataclass(frozen=True)
class Clip:
    """One encoded stimulus. ``source`` stays on the server: participants only ever see ``file``'s name."""

    clip_id: str  # random hex id, also the file's stem
    source: Path  # the MIDI/audio it was made from
    file: Path  # <out_dir>/<clip_id>.<ext>
    duration_seconds: float  # n_samples / sample_rate
    sample_rate: int  # Hz
    n_samples: int  # per channel
    loudness_lufs: float  # integrated loudness before encoding (LUFS)


def find_soundfont(settings: ClipSettings) -> Path:
    """The soundfont to use: ``settings.soundfont`` if given, else the first default that exists."""
    if settings.soundfont is not None:
        path = Path(settings.soundfont)
        if not path.is_file():
            raise StudyError(f"soundfont {path} not found; give an existing .sf2 file or {INSTALL_HINT}")
        return path
    for path in _soundfont_candidates():
        if path.is_file():
            return path
    tried = ", ".join(str(p) for p in _soundfont_candidates())
    raise StudyError(f"no soundfont found (tried {tried}); {INSTALL_HINT}")


#: what the stimulus reader accepts: drum-only pieces are fine as stimuli; the sustain pedal lengthens notes
STIMULUS_READER = ReaderConfig(require_pitched=False, sustain_pedal=True)


def stimulus_piece(midi_path: Path, settings: ClipSettings) -> Piece:
    """A MIDI stimulus as it will sound: read with ``evaluation.read_midi`` and normalised per ``settings``."""
    try:
        piece = read_midi(Path(midi_path), config=STIMULUS_READER)
    except MidiError as exc:
        raise StudyError(f"{exc.path}: {exc.reason}") from None
    return normalise(piece, settings.normalisation)


def render_midi(midi_path: Path, settings: ClipSettings, *, whole: bool = False) -> np.ndarray:
    """Render a MIDI file with FluidSynth (or read an audio file) at ``settings.sample_rate``.

    Parameters
    ----------
    midi_path : a ``.mid``/``.midi`` file, or a ``.wav``/``.ogg``/``.flac``/``.mp3`` file (read with
        soundfile and resampled with ``scipy.signal.resample_poly`` when its rate differs).
    whole : render the whole MIDI file. By default, when ``settings.clip_seconds`` is set, only the events
        before ``start_seconds + clip_seconds + RENDER_MARGIN_SECONDS`` are rendered (see
        :func:`studies.normalise.cut_piece`): the clip is the same, the rendering shorter.

    MIDI goes through :func:`stimulus_piece` (normalisation) and ``evaluation.write_midi`` before FluidSynth.

    Returns
    -------
    float32 array ``(n_samples, n_channels)`` (FluidSynth renders stereo).
    """
    path = Path(midi_path)
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        data, rate = A.read_audio(path)
        return A.resample(data, rate, int(settings.sample_rate))
    if suffix not in MIDI_SUFFIXES:
        raise StudyError(f"{path}: unknown stimulus type {suffix!r}; use {MIDI_SUFFIXES + AUDIO_SUFFIXES}")
    soundfont = find_soundfont(settings)
    piece = stimulus_piece(path, settings)
    if not whole and settings.clip_seconds is not None:
        until = settings.start_seconds + settings.clip_seconds + RENDER_MARGIN_SECONDS
        piece = cut_piece(piece, until) or piece
    with tempfile.TemporaryDirectory(prefix="tunelab-render-") as tmp:
        wav, mid = Path(tmp) / "render.wav", Path(tmp) / "render.mid"
        try:
            write_midi(piece, mid)
        except MidiError as exc:
            raise StudyError(f"{path}: cannot be written for rendering ({exc.reason})") from None
        try:
            A.synthesize_midi(mid, wav, soundfont, int(settings.sample_rate))
        except StudyError as exc:  # name the user's file, not the temporary one
            raise StudyError(str(exc).replace(str(mid), str(path))) from None
        data, rate = A.read_audio(wav)
    return A.resample(data, rate, int(settings.sample_rate))


def make_clip(audio: np.ndarray, settings: ClipSettings, *, name: str = "audio",
              n_samples: int | None = None) -> np.ndarray:
    """Cut, pad, fade, loudness-normalise and peak-limit one rendering.

    Parameters
    ----------
    audio : float32 ``(n_samples, n_channels)`` or 1-D, at ``settings.sample_rate``.
    name : named in error messages (the source file).
    n_samples : clip length in samples; default ``settings.n_samples`` (None with ``clip_seconds=None``:
        the whole piece from ``start_seconds``, unpadded).

    Returns
    -------
    float32 ``(n_samples, settings.channels)``: the music (faded in and out) followed by silence when the
    piece is shorter than the clip; integrated loudness ``settings.target_lufs`` unless the limiter had to
    pull peaks under ``settings.peak_dbfs``.
    """
    rate = int(settings.sample_rate)
    audio = A.to_channels(A.as_2d(audio), settings.channels)
    start = int(round(settings.start_seconds * rate))
    length = n_samples if n_samples is not None else settings.n_samples
    content = audio[start:] if length is None else audio[start : start + length]
    if content.shape[0] == 0 or np.abs(content).max() < SILENCE_PEAK:
        where = f"after start_seconds={settings.start_seconds} " if start else ""
        raise StudyError(f"{name}: the rendering is silent {where}(total {audio.shape[0] / rate:.2f} s); "
                         "does the MIDI have notes, and is start_seconds inside the piece?")
    content = A.apply_fades(content, int(round(settings.fade_seconds * rate)), settings.fade_shape)
    clip = A.pad_to(content, length) if length is not None else content
    clip, before = A.gain_to_loudness(clip, rate, settings.target_lufs)
    if not np.isfinite(before):
        raise StudyError(f"{name}: the clip is too quiet to measure (below the -70 LUFS gate of BS.1770) "
                         "after fades; use a longer clip, shorter fades or louder notes")
    return A.limit_peaks(clip, rate, settings.peak_dbfs)


def encode_clip(audio: np.ndarray, settings: ClipSettings) -> bytes:
    """Encode a clip as ``settings.audio_format``: MP3 (lameenc, ``bitrate_kbps`` CBR, no ID3) or Ogg Vorbis.

    The bytes carry no title, comment or file name: only the encoder's own identification.
    """
    if settings.audio_format == "mp3":
        return A.encode_mp3(audio, int(settings.sample_rate), settings.bitrate_kbps)
    return A.encode_ogg(audio, int(settings.sample_rate))


def new_clip_id(rng: np.random.Generator | None = None) -> str:
    """16 hex characters: from ``rng`` when given (reproducible study), else from ``secrets``."""
    if rng is None:
        return secrets.token_hex(8)
    return rng.bytes(8).hex()


# --- workers (module level so a process pool can pickle them) -------------------------------------------

def _finish(clip: np.ndarray, source: Path, clip_id: str, out_dir: Path, settings: ClipSettings) -> Clip:
    file = out_dir / f"{clip_id}.{settings.audio_format}"
    file.write_bytes(encode_clip(clip, settings))
    rate = int(settings.sample_rate)
    return Clip(clip_id=clip_id, source=source, file=file, duration_seconds=clip.shape[0] / rate,
                sample_rate=rate, n_samples=int(clip.shape[0]),
                loudness_lufs=A.integrated_loudness(clip, rate))


def _work_full(source: Path, clip_id: str, out_dir: Path, settings: ClipSettings) -> Clip:
    clip = make_clip(render_midi(source, settings), settings, name=str(source))
    return _finish(clip, source, clip_id, out_dir, settings)


def _work_render(source: Path, scratch: Path, settings: ClipSettings) -> tuple[Path, int]:
    clip = make_clip(render_midi(source, settings), settings, name=str(source))
    npy = scratch / f"{secrets.token_hex(8)}.npy"
    np.save(npy, clip)
    return npy, int(clip.shape[0])


def _work_pad(npy: Path, length: int, source: Path, clip_id: str, out_dir: Path,
              settings: ClipSettings) -> Clip:
    return _finish(A.pad_to(np.load(npy), length), source, clip_id, out_dir, settings)


def _mp_context() -> BaseContext:
    """Forkserver with this module preloaded: workers fork from a single-threaded server that imported
    numpy/scipy/pyloudnorm once (~1.5 s of CPU saved per worker). Not plain fork: the app and the tests run
    threads, which fork would copy in a broken state. Spawn where forkserver does not exist."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["studies.stimuli"])
    return ctx


def _run(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], pool: ProcessPoolExecutor | None,
         tick: Callable[[], None]) -> list[Any]:
    """Run ``fn(*args)`` for each call (in ``pool`` if given, else here); StudyErrors become results."""
    results: list[Any] = [None] * len(calls)
    if pool is None:
        for i, (fn, args) in enumerate(calls):
            try:
                results[i] = fn(*args)
            except StudyError as exc:
                results[i] = exc
            tick()
        return results
    futures = {pool.submit(fn, *args): i for i, (fn, args) in enumerate(calls)}
    for fut in as_completed(futures):
        try:
            results[futures[fut]] = fut.result()
        except StudyError as exc:
            results[futures[fut]] = exc
        tick()
    return results


def prepare_stimuli(sources: list[Path], out_dir: Path, settings: ClipSettings, jobs: int = 1,
                    rng: np.random.Generator | None = None, progress: bool = True,
                    on_progress: Callable[[int, int], None] | None = None,
                    ) -> tuple[list[Clip], list[tuple[Path, str]]]:
    """Render, cut, normalise and encode every source into ``out_dir/<clip_id>.<ext>``.

    Parameters
    ----------
    sources : MIDI or audio files.
    jobs : worker processes (FluidSynth and the encoders use one core each).
    rng : source of the clip ids (seeded → reproducible ids); None → ``secrets``.
    progress : show a tqdm bar.
    on_progress : called as ``on_progress(done, total)`` after each step (e.g. a Streamlit progress bar).

    Returns
    -------
    clips : one :class:`Clip` per source that worked, in the order of ``sources``.
    failures : ``(source, reason)`` for each source that could not be made into a clip.

    With ``clip_seconds=None`` the whole pieces are rendered first and then all padded to the longest, so
    the clips still share one length (two steps per source in the progress count).

    ``jobs > 1`` starts worker processes (forkserver): a script calling this must do so under
    ``if __name__ == "__main__":``. ``on_progress`` is called in the calling thread.
    """
    from tqdm.auto import tqdm

    sources = [Path(s) for s in sources]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(s.suffix.lower() in MIDI_SUFFIXES for s in sources):
        A.fluidsynth_path(), find_soundfont(settings)  # fail once, clearly, rather than once per file
    ids: list[str] = []
    while len(ids) < len(sources):
        cid = new_clip_id(rng)
        if cid not in ids and not any(out_dir.glob(f"{cid}.*")):
            ids.append(cid)
    steps = len(sources) * (1 if settings.clip_seconds is not None else 2)
    bar = tqdm(total=steps, desc="rendering stimuli", unit="clip", disable=not progress)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        bar.update(1)
        if on_progress is not None:
            on_progress(done, steps)

    failures: list[tuple[Path, str]] = []
    pool = (ProcessPoolExecutor(max_workers=min(jobs, len(sources)), mp_context=_mp_context())
            if jobs > 1 and len(sources) > 1 else None)
    try:
        if settings.clip_seconds is not None:
            calls = [(_work_full, (s, cid, out_dir, settings)) for s, cid in zip(sources, ids, strict=True)]
            results = _run(calls, pool, tick)
        else:
            with tempfile.TemporaryDirectory(prefix="tunelab-stimuli-") as tmp:
                first = _run([(_work_render, (s, Path(tmp), settings)) for s in sources], pool, tick)
                ok = [r for r in first if not isinstance(r, StudyError)]
                longest = max((n for _, n in ok), default=0)
                calls = [(_work_pad, (r[0], longest, s, cid, out_dir, settings))
                         for r, s, cid in zip(first, sources, ids, strict=True)
                         if not isinstance(r, StudyError)]
                padded = iter(_run(calls, pool, tick))
                results = [r if isinstance(r, StudyError) else next(padded) for r in first]
                for _ in range(len(results) - len(calls)):
                    tick()  # failed sources have no second step
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    clips = []
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, StudyError):
            failures.append((source, str(result)))
        else:
            clips.append(result)
    return clips, failures


def validate_clips(clips: Sequence[Clip], target_lufs: float | None = -23.0,
                   tolerance_lu: float = 1.0) -> list[str]:
    """Decode every clip file and list what would let a listener tell the sets apart.

    Flags: unreadable files; clips whose sample rate, number of channels or length (samples) differ from the
    most common value; integrated loudness (BS.1770, measured on the decoded audio) more than
    ``tolerance_lu`` LU from ``target_lufs`` (None skips the loudness check). Empty list = all consistent.
    """
    problems: list[str] = []
    decoded: list[tuple[Clip, int, int, int]] = []
    for clip in clips:
        try:
            data, rate = A.decode_audio(Path(clip.file))
        except StudyError as exc:
            problems.append(f"{clip.clip_id}: {exc}")
            continue
        decoded.append((clip, rate, data.shape[1], data.shape[0]))
        if target_lufs is not None:
            lufs = A.integrated_loudness(data, rate)
            if not abs(lufs - target_lufs) <= tolerance_lu:
                problems.append(f"{clip.clip_id} ({clip.source.name}): loudness {lufs:.1f} LUFS, target "
                                f"{target_lufs:.1f} ± {tolerance_lu} LU; re-make it with prepare_stimuli")
    for label, col in (("sample rate", 1), ("channels", 2), ("length (samples)", 3)):
        values = [d[col] for d in decoded]
        if len(set(values)) > 1:
            common = max(set(values), key=values.count)
            for d in decoded:
                if d[col] != common:
                    problems.append(f"{d[0].clip_id} ({d[0].source.name}): {label} {d[col]} differs from the "
                                    f"other clips' {common}; the {label} could reveal its set")
    return problems
