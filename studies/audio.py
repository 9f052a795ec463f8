"""Synthesis (FluidSynth), signal processing and codecs for listening-study clips.

Conventions
-----------
- Audio is a float32 array of shape ``(n_samples, n_channels)`` (soundfile's layout), values in [-1, 1].
- Times are in seconds, rates in Hz, loudness in LUFS (ITU-R BS.1770-4 integrated loudness, as implemented by
  pyloudnorm), peaks in dBFS.
- Everything here is a pure function of arrays except :func:`read_audio` / :func:`decode_audio` (read bytes
  or files), :func:`synthesize_midi` (runs FluidSynth) and the two encoders (return bytes). MIDI is written
  only by ``evaluation.write_midi`` (:mod:`studies.stimuli`).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from math import gcd
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from studies.errors import StudyError

INSTALL_HINT = "install it with: apt-get install fluidsynth timgm6mb-soundfont"
#: BS.1770 gating block (s): shorter signals have no integrated loudness.
LOUDNESS_BLOCK_SECONDS = 0.4


def as_2d(audio: np.ndarray) -> np.ndarray:
    """Return ``audio`` as float32 ``(n_samples, n_channels)``; a 1-D array becomes one channel."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return audio[:, None]
    if audio.ndim != 2:
        raise ValueError(f"audio must be 1-D or 2-D (n_samples, n_channels), got shape {audio.shape}")
    return audio


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Read an audio file (WAV, FLAC, OGG, MP3: whatever libsndfile reads).

    Returns
    -------
    audio : float32 ``(n_samples, n_channels)``
    sample_rate : Hz
    """
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise StudyError(f"{path}: cannot read audio ({exc}); is it a WAV/OGG/FLAC/MP3 file?") from exc
    return data, int(rate)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly, Kaiser window), ``rate_in`` → ``rate_out`` Hz."""
    audio = as_2d(audio)
    if rate_in == rate_out:
        return audio
    g = gcd(int(rate_in), int(rate_out))
    out = resample_poly(audio, int(rate_out) // g, int(rate_in) // g, axis=0)
    return out.astype(np.float32)


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Mix to ``channels`` (1 or 2): stereo → mono is the mean, mono → stereo duplicates."""
    audio = as_2d(audio)
    have = audio.shape[1]
    if have == channels:
        return audio
    mono = audio.mean(axis=1, keepdims=True)
    return np.repeat(mono, channels, axis=1).astype(np.float32)


def fade_curve(n: int, shape: str = "cosine") -> np.ndarray:
    """Fade-in gain of ``n`` samples from 0 to 1 (exclusive of the 1): ``"linear"`` or ``"cosine"``.

    The raised-cosine ramp is ``0.5 * (1 - cos(pi * t))`` for ``t`` in [0, 1).
    """
    t = np.arange(n, dtype=np.float64) / max(n, 1)
    if shape == "linear":
        ramp = t
    elif shape == "cosine":
        ramp = 0.5 * (1.0 - np.cos(np.pi * t))
    else:
        raise StudyError(f"fade shape {shape!r} is unknown; use 'linear' or 'cosine'")
    return ramp.astype(np.float32)


def apply_fades(audio: np.ndarray, n_fade: int, shape: str = "cosine") -> np.ndarray:
    """Fade in over the first and out over the last ``n_fade`` samples (each at most half the signal).

    The first sample and the last sample are exactly 0.
    """
    audio = as_2d(audio).copy()
    n = min(int(n_fade), audio.shape[0] // 2)
    if n <= 0:
        return audio
    ramp = fade_curve(n, shape)[:, None]
    audio[:n] *= ramp
    audio[-n:] *= ramp[::-1]
    return audio


def cut_or_pad(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """Take ``length`` samples from ``start``, padding the end with silence when the audio is shorter."""
    audio = as_2d(audio)
    part = audio[start : start + length]
    if part.shape[0] < length:
        part = np.concatenate([part, np.zeros((length - part.shape[0], audio.shape[1]), np.float32)])
    return part


def pad_to(audio: np.ndarray, length: int) -> np.ndarray:
    """Append silence so the signal has ``length`` samples (never cuts)."""
    return cut_or_pad(audio, 0, max(length, as_2d(audio).shape[0]))


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4 via pyloudnorm); ``-inf`` for silence.

    Signals shorter than one 0.4 s gating block are padded with silence, which the absolute gate (-70 LUFS)
    ignores.
    """
    audio = as_2d(audio).astype(np.float64)
    block = int(np.ceil(LOUDNESS_BLOCK_SECONDS * sample_rate)) + 1
    if audio.shape[0] < block:
        audio = np.concatenate([audio, np.zeros((block - audio.shape[0], audio.shape[1]))])
    if not np.any(audio):
        return float("-inf")
    data = audio[:, 0] if audio.shape[1] == 1 else audio
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))


def gain_to_loudness(audio: np.ndarray, sample_rate: int, target_lufs: float) -> tuple[np.ndarray, float]:
    """Scale ``audio`` so its integrated loudness is ``target_lufs``.

    Returns the scaled audio and the loudness measured before scaling (``-inf`` means silence: the caller
    must refuse it, since no gain makes silence reach a target).
    """
    before = integrated_loudness(audio, sample_rate)
    if not np.isfinite(before):
        return as_2d(audio), before
    gain = 10.0 ** ((target_lufs - before) / 20.0)
    return (as_2d(audio) * np.float32(gain)).astype(np.float32), before


def limit_peaks(audio: np.ndarray, sample_rate: int, ceiling_dbfs: float = -1.0,
                window_seconds: float = 0.005) -> np.ndarray:
    """Look-ahead peak limiter: no sample exceeds ``ceiling_dbfs`` and the gain moves smoothly.

    The gain each sample needs is ``min(1, ceiling / |x|)`` (over all channels). It is spread to a minimum
    over ``±window`` and then smoothed by a moving average of ``window``; every value averaged at a sample is
    then at most the gain that sample needs, so the ceiling holds while the gain ramps over
    ~``window_seconds`` instead of clicking. Signals already below the ceiling are returned unchanged.
    """
    audio = as_2d(audio)
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    peak = np.abs(audio).max(axis=1) if audio.size else np.zeros(0)
    if peak.size == 0 or peak.max() <= ceiling:
        return audio
    w = max(1, int(round(window_seconds * sample_rate)))
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    spread = minimum_filter1d(need, size=2 * w + 1, mode="nearest")
    gain = uniform_filter1d(spread, size=w, mode="nearest")
    out = audio * gain[:, None].astype(np.float32)
    # the clip only removes float rounding: the gain already keeps every sample under the ceiling
    return np.clip(out, -ceiling, ceiling).astype(np.float32)


def encode_mp3(audio: np.ndarray, sample_rate: int, bitrate_kbps: int = 128) -> bytes:
    """MP3 (LAME via lameenc, constant bit rate, quality 2) with no ID3 tag: the bytes hold no metadata."""
    import lameenc

    audio = as_2d(audio)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    enc = lameenc.Encoder()
    enc.set_bit_rate(int(bitrate_kbps))
    enc.set_in_sample_rate(int(sample_rate))
    enc.set_channels(int(audio.shape[1]))
    enc.set_quality(2)
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


def encode_ogg(audio: np.ndarray, sample_rate: int) -> bytes:
    """Ogg Vorbis through libsndfile (soundfile); no title/comment tags are written."""
    buf = io.BytesIO()
    sf.write(buf, as_2d(audio), int(sample_rate), format="OGG", subtype="VORBIS")
    return buf.getvalue()


def decode_audio(data: bytes | Path) -> tuple[np.ndarray, int]:
    """Decode MP3/OGG/WAV bytes or a file with soundfile; returns float32 ``(n, ch)`` and the rate (Hz)."""
    if isinstance(data, (bytes, bytearray)):
        out, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return out, int(rate)
    return read_audio(Path(data))


def fluidsynth_path() -> str:
    """Path of the ``fluidsynth`` program, or a StudyError saying how to install it."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise StudyError(f"the `fluidsynth` program is not on PATH; {INSTALL_HINT}")
    return exe


def synthesize_midi(midi_path: Path, wav_path: Path, soundfont: Path, sample_rate: int) -> None:
    """Run FluidSynth like ``midi2audio.FluidSynth(sf2, rate).midi_to_audio(mid, wav)`` does.

    midi2audio 0.1.1 calls ``subprocess.call`` and drops the exit status and error text (and prints the
    FluidSynth banner for every file), so the same command line is run here with ``-q`` and checked. The
    WAV is 32-bit float (no 16-bit quantisation or dither, no clipping): the clip's gain is set afterwards.
    """
    cmd = [fluidsynth_path(), "-ni", "-q", "-o", "audio.file.format=float", str(soundfont), str(midi_path),
           "-F", str(wav_path), "-r", str(int(sample_rate))]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
    # FluidSynth exits 0 on a file with a bad MIDI header (it writes a few samples of dither), so its
    # error lines count as failure too
    failed = proc.returncode != 0 or "error:" in proc.stderr.lower()
    if failed or not wav_path.is_file() or wav_path.stat().st_size <= 44:
        text = " ".join((proc.stderr + " " + proc.stdout).split())[:300] or "no output"
        raise StudyError(f"{midi_path}: FluidSynth could not render it (exit {proc.returncode}: {text}); "
                         "is it a valid MIDI file?")
