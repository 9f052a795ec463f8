"""Tests of studies.stimuli / studies.audio: rendering, equal-length clips, loudness, fades, codecs, ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from studies import audio as A
from studies.errors import StudyError
from studies.stimuli import (
    Clip,
    ClipSettings,
    encode_clip,
    make_clip,
    prepare_stimuli,
    render_midi,
    validate_clips,
)
from tunelab.testing.study_fixture import PINNED_SOUNDFONT

RATE = 44100


def clip_settings(**values) -> ClipSettings:
    """Clip settings with the pinned soundfont: the rendered audio does not depend on the machine's fonts."""
    return ClipSettings(**{"soundfont": PINNED_SOUNDFONT, **values})


def write_midi(path: Path, seconds: float, velocity: int = 90, pitches=(60, 64, 67, 72)) -> Path:
    """Piano arpeggio cycling over ``pitches``, one note every 0.5 s, lasting ``seconds``."""
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    n = int(round(seconds / 0.5))
    for i in range(n):
        piano.notes.append(pretty_midi.Note(velocity=velocity, pitch=pitches[i % len(pitches)],
                                            start=0.5 * i, end=0.5 * i + 0.5))
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


@pytest.fixture(scope="module")
def midis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("midi")
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(program=0))
    empty.write(str(d / "empty.mid"))
    a4 = pretty_midi.PrettyMIDI()
    a4.instruments.append(pretty_midi.Instrument(program=0))
    a4.instruments[0].notes.append(pretty_midi.Note(velocity=90, pitch=69, start=0.0, end=1.0))
    a4.write(str(d / "a4.mid"))
    (d / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06this is not midi")
    return {
        "short": write_midi(d / "human_bwv66_short.mid", 3.0),
        "long": write_midi(d / "machine_sample_long.mid", 30.0),
        "soft": write_midi(d / "soft.mid", 3.0, velocity=30),
        "loud": write_midi(d / "loud.mid", 3.0, velocity=120),
        "a4": d / "a4.mid",
        "empty": d / "empty.mid",
        "broken": d / "broken.mid",
    }


def peak_frequency(x: np.ndarray, rate: int) -> float:
    seg = x * np.hanning(len(x))
    return float(np.fft.rfftfreq(len(seg), 1 / rate)[np.argmax(np.abs(np.fft.rfft(seg)))])


# --- rendering ---------------------------------------------------------------------------------------------

def test_render_arpeggio_is_audible_at_the_requested_rate(midis):
    for rate in (22050, RATE):
        audio = render_midi(midis["short"], clip_settings(sample_rate=rate))
        assert audio.dtype == np.float32 and audio.ndim == 2
        # 3 s of notes plus FluidSynth's release tail, at `rate` samples per second
        assert 3.0 * rate <= audio.shape[0] <= 8.0 * rate
        assert np.sqrt(np.mean(audio[: 3 * rate] ** 2)) > 1e-3


def test_render_a4_has_its_pitch_at_both_rates(midis):
    # A4 = 440 Hz only comes out at 440 Hz if the samples really are at the stated rate
    for rate in (22050, RATE):
        audio = render_midi(midis["a4"], clip_settings(sample_rate=rate))[:, 0]
        f = peak_frequency(audio[int(0.1 * rate) : int(0.9 * rate)], rate)
        assert abs(f - 440.0) < 3.0


def test_audio_input_is_resampled(tmp_path):
    t = np.arange(22050 * 2) / 22050
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 330 * t), 22050)
    audio = render_midi(tmp_path / "tone.wav", clip_settings(sample_rate=RATE))
    assert audio.shape == (2 * RATE, 1)
    assert abs(peak_frequency(audio[:, 0], RATE) - 330.0) < 1.0


def test_broken_and_missing_inputs_name_the_file(midis, tmp_path):
    with pytest.raises(StudyError, match="broken.mid: unknown MIDI format type"):
        render_midi(midis["broken"], clip_settings())
    with pytest.raises(StudyError, match="nothere.mid: no such file"):
        render_midi(tmp_path / "nothere.mid", clip_settings())


def test_missing_soundfont_or_fluidsynth_says_how_to_install(midis, tmp_path, monkeypatch):
    with pytest.raises(StudyError, match="apt-get install fluidsynth"):
        render_midi(midis["short"], ClipSettings(soundfont=tmp_path / "none.sf2"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StudyError, match="`fluidsynth`.*apt-get install fluidsynth"):
        render_midi(midis["short"], clip_settings())


def test_silent_render_is_refused_naming_the_file(midis):
    s = clip_settings(clip_seconds=2.0)
    with pytest.raises(StudyError, match="empty.mid: the file has no notes"):
        render_midi(midis["empty"], s)
    # starting past the end of the piece is silent
    s = clip_settings(clip_seconds=2.0, start_seconds=60.0)
    with pytest.raises(StudyError, match="short.mid.*start_seconds=60.0"):
        make_clip(render_midi(midis["short"], s), s, name=str(midis["short"]))


# --- clips -------------------------------------------------------------------------------------------------

def test_short_and_long_pieces_give_clips_of_identical_length(midis):
    s = clip_settings(clip_seconds=10.0)
    short = make_clip(render_midi(midis["short"], s), s)
    long = make_clip(render_midi(midis["long"], s), s)
    assert short.shape == long.shape == (10 * RATE, 2)
    # the short piece is padded with digital silence after its (faded) ending
    assert not np.any(short[9 * RATE :])
    assert np.any(long[9 * RATE : int(9.4 * RATE)])


def test_loudness_of_soft_and_loud_pieces_is_matched(midis):
    s = clip_settings(clip_seconds=3.0, target_lufs=-23.0)
    soft_raw = render_midi(midis["soft"], s)
    loud_raw = render_midi(midis["loud"], s)
    # velocity 30 vs 120 differ by several LU before normalising ...
    assert A.integrated_loudness(loud_raw, RATE) - A.integrated_loudness(soft_raw, RATE) > 6.0
    # ... and both sit on the target after
    for raw in (soft_raw, loud_raw):
        assert abs(A.integrated_loudness(make_clip(raw, s), RATE) - (-23.0)) < 0.5


def test_clip_fades_start_and_end_at_zero(midis):
    s = clip_settings(clip_seconds=4.0, fade_seconds=0.5)
    clip = make_clip(render_midi(midis["long"], s), s)
    assert np.abs(clip[:10]).max() < 1e-3
    assert np.abs(clip[-10:]).max() < 1e-3
    assert np.abs(clip[RATE : 3 * RATE]).max() > 0.05


@pytest.mark.parametrize(("shape", "quarter"), [("linear", 0.25), ("cosine", 0.5 * (1 - np.cos(np.pi / 4)))])
def test_fade_shapes_on_a_constant_signal(shape, quarter):
    # 1 s of ones, 0.4 s fades (17640 samples): gain at 1/4 and 1/2 of the fade-in, worked out by hand
    gain = A.apply_fades(np.ones(RATE, np.float32), 17640, shape)[:, 0]
    assert gain[0] == 0.0 and gain[-1] == 0.0
    assert gain[4410] == pytest.approx(quarter, abs=1e-6)
    assert gain[8820] == pytest.approx(0.5, abs=1e-6)
    assert gain[RATE // 2] == 1.0
    assert gain[-1 - 4410] == pytest.approx(gain[4410 + 1], abs=1e-4)


def test_limiter_keeps_peaks_under_the_ceiling():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((RATE, 2))).astype(np.float32)
    x[RATE // 2] = 1.5  # one spike far above the -1 dBFS ceiling (0.891)
    y = A.limit_peaks(x, RATE, -1.0)
    assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-6
    # far from the spike the signal is untouched
    np.testing.assert_array_equal(y[:1000], x[:1000])
    quiet = (0.1 * x[:1000]).copy()
    np.testing.assert_array_equal(A.limit_peaks(quiet, RATE, -1.0), quiet)


def test_loud_target_is_peak_limited(midis):
    s = clip_settings(clip_seconds=3.0, target_lufs=-5.0, peak_dbfs=-1.0)
    clip = make_clip(render_midi(midis["loud"], s), s)
    assert np.abs(clip).max() <= 10 ** (-1 / 20) + 1e-6


# --- encoding ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_encoded_clips_decode_without_metadata(midis, fmt):
    s = clip_settings(clip_seconds=3.0, audio_format=fmt)
    clip = make_clip(render_midi(midis["short"], s), s, name=str(midis["short"]))
    data = encode_clip(clip, s)
    decoded, rate = A.decode_audio(data)
    assert rate == RATE and decoded.shape[1] == 2
    # Vorbis is sample exact; MP3 adds the encoder's delay and padding (< 1 frame + 529 + 1152 samples)
    assert 3 * RATE <= decoded.shape[0] <= 3 * RATE + 3000
    assert abs(A.integrated_loudness(decoded, rate) - (-23.0)) < 1.0
    lowered = data.lower()
    for needle in (b"human_bwv66_short", b"bwv66", b"title=", b"comment=", b"id3", b"artist"):
        assert needle not in lowered


def test_settings_are_validated_and_round_trip():
    with pytest.raises(StudyError, match="audio_format='wav'"):
        ClipSettings(audio_format="wav")
    with pytest.raises(StudyError, match="fade_seconds=3"):
        ClipSettings(clip_seconds=4.0, fade_seconds=3)
    with pytest.raises(StudyError, match="unknown clip setting.*'clip_len'"):
        ClipSettings.from_dict({"clip_len": 3})
    s = ClipSettings(clip_seconds=None, soundfont=Path("/x.sf2"), audio_format="ogg")
    assert ClipSettings.from_dict(s.to_dict()) == s


# --- whole pipeline ----------------------------------------------------------------------------------------

def test_prepare_stimuli_ids_are_random_and_not_from_names(midis, tmp_path):
    srcs = [midis["short"], midis["long"]]
    s = clip_settings(clip_seconds=2.0, fade_seconds=0.2)
    a, fa = prepare_stimuli(srcs, tmp_path / "a", s, rng=np.random.default_rng(1), progress=False)
    b, _ = prepare_stimuli(srcs, tmp_path / "b", s, rng=np.random.default_rng(2), progress=False)
    c, _ = prepare_stimuli(srcs, tmp_path / "c", s, rng=np.random.default_rng(1), progress=False)
    assert fa == [] and [x.source for x in a] == srcs
    ids_a, ids_b = [x.clip_id for x in a], [x.clip_id for x in b]
    assert not set(ids_a) & set(ids_b)
    assert ids_a == [x.clip_id for x in c]  # a seeded generator makes a study reproducible
    for clip in a + b:
        assert len(clip.clip_id) == 16 and int(clip.clip_id, 16) >= 0
        assert clip.file.name == f"{clip.clip_id}.mp3" and clip.file.is_file()
        for stem in ("human", "machine", "bwv66", "short", "long", clip.source.stem):
            assert stem not in clip.clip_id
        assert clip.n_samples == 2 * RATE and clip.duration_seconds == 2.0
        assert abs(clip.loudness_lufs - (-23.0)) < 0.01
    assert validate_clips(a) == []


def test_broken_midi_is_reported_and_the_others_rendered(midis, tmp_path):
    calls = []
    s = clip_settings(clip_seconds=2.0, fade_seconds=0.2, audio_format="ogg")
    srcs = [midis["short"], midis["broken"], midis["soft"], midis["empty"]]
    clips, failures = prepare_stimuli(srcs, tmp_path, s, jobs=2, progress=False,
                                      on_progress=lambda done, total: calls.append((done, total)))
    assert [c.source for c in clips] == [midis["short"], midis["soft"]]
    assert [f[0] for f in failures] == [midis["broken"], midis["empty"]]
    assert "broken.mid" in failures[0][1] and "empty.mid: the file has no notes" in failures[1][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(c.file.name for c in clips)
    assert calls[-1] == (4, 4) and len(calls) == 4


def test_whole_pieces_are_padded_to_the_longest(midis, tmp_path):
    s = clip_settings(clip_seconds=None, fade_seconds=0.2, audio_format="ogg")
    # two workers: the render step and the padding step share one process pool
    clips, failures = prepare_stimuli([midis["short"], midis["a4"], midis["broken"]], tmp_path, s, jobs=2,
                                      progress=False)
    assert len(clips) == 2 and len(failures) == 1
    assert clips[0].n_samples == clips[1].n_samples > 3 * RATE
    assert validate_clips(clips) == []


def test_validate_clips_flags_a_different_length_and_loudness(midis, tmp_path):
    s = clip_settings(clip_seconds=2.0, fade_seconds=0.2, audio_format="ogg")
    clips, _ = prepare_stimuli([midis["short"], midis["soft"]], tmp_path, s, progress=False)
    odd, _ = prepare_stimuli([midis["loud"]], tmp_path, clip_settings(clip_seconds=3.0, fade_seconds=0.2,
                                                                     audio_format="ogg"), progress=False)
    problems = validate_clips(clips + odd)
    assert len(problems) == 1
    assert odd[0].clip_id in problems[0] and "length" in problems[0] and str(3 * RATE) in problems[0]
    # a clip 6 dB too quiet is off target by ~6 LU
    data, rate = sf.read(clips[0].file)
    quiet = tmp_path / "quiet.ogg"
    sf.write(quiet, 0.5 * data, rate, format="OGG", subtype="VORBIS")
    fake = Clip("quiet", clips[0].source, quiet, 2.0, rate, 2 * rate, -29.0)
    problems = validate_clips([clips[1], fake])
    assert len(problems) == 1 and problems[0].startswith("quiet") and "loudness -29" in problems[0]


# --- rendering only what the clip needs -------------------------------------------------------------------

def test_cut_rendering_gives_the_same_clip_as_the_whole_piece(midis):
    s = clip_settings(clip_seconds=4.0, start_seconds=2.0, fade_seconds=0.3)
    whole = render_midi(midis["long"], s, whole=True)
    cut = render_midi(midis["long"], s)
    assert whole.shape[0] >= 30 * RATE
    # events up to 2 + 4 + 2 = 8 s, then the piano's release: far less than the 30 s piece
    assert 8 * RATE <= cut.shape[0] <= 12 * RATE
    np.testing.assert_array_equal(cut[: 8 * RATE], whole[: 8 * RATE])
    a, b = make_clip(whole, s), make_clip(cut, s)
    assert a.shape == b.shape == (4 * RATE, 2)
    np.testing.assert_array_equal(a, b)
    assert np.sqrt(np.mean(b**2)) > 0.01  # not silent
