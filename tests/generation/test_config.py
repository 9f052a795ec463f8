"""TrainConfig / SampleConfig: TOML round trip, unknown keys, flags generated from the fields, presets."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from generation.config import (
    SampleConfig,
    TrainConfig,
    add_config_flags,
    apply_flags,
    list_presets,
    load_config,
    load_preset,
    resolve_config,
    save_config,
)
from generation.errors import GenerationError


def parser_for(cls=TrainConfig) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_config_flags(parser, cls)
    return parser


def test_every_field_has_a_help_text_and_a_flag():
    help_text = parser_for().format_help()
    for f in fields(TrainConfig):
        assert f.metadata.get("help"), f.name
    for flag in ("--hidden", "--layers", "--keep", "--attention", "--no-attention", "--window", "--batch-size",
                 "--learning-rate", "--epochs", "--patience", "--clip-grad", "--seed", "--device", "--amp",
                 "--arch", "--encoding", "--encoding-option", "--time-hidden"):
        assert flag in help_text, flag


@pytest.mark.parametrize("cls", [TrainConfig, SampleConfig])
def test_toml_round_trip(tmp_path: Path, cls):
    if cls is TrainConfig:
        config = TrainConfig(arch="biaxial", hidden=32, keep=0.5, attention=True, time_hidden=(30, 20),
                             encoding_options={"step": 1.0, "low": 21, "name": 'a "b"'}, learning_rate=3e-4)
    else:
        config = SampleConfig(n=3, temperatures=(0.5, 1.25), threshold=0.3, top_p=0.9)
    path = save_config(config, tmp_path / "run.toml")
    assert load_config(path, cls) == config
    assert load_config(save_config(cls(), tmp_path / "default.toml"), cls) == cls()


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("hidden = 32\nhiden_size = 64\n", encoding="utf-8")
    with pytest.raises(GenerationError, match=r"bad\.toml.*'hiden_size'"):
        load_config(path)


def test_bad_values_name_the_key_and_the_file(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text('hidden = "big"\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"bad\.toml: hidden = 'big' is not a valid int"):
        load_config(path)
    path.write_text('device = "tpu"\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"bad\.toml: device must be one of auto, cpu, cuda"):
        load_config(path)
    path.write_text("keep = 1.5\n", encoding="utf-8")
    with pytest.raises(GenerationError, match=r"bad\.toml: keep is the share of units kept"):
        load_config(path)
    path.write_text("hidden = [1\n", encoding="utf-8")
    with pytest.raises(GenerationError, match=r"bad\.toml: not valid TOML"):
        load_config(path)
    with pytest.raises(GenerationError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_flags_parse_to_field_types_and_only_explicit_ones_apply():
    args = parser_for().parse_args(["--hidden", "128", "--keep", "0.5", "--attention", "--time-hidden", "64,32",
                                    "--encoding-option", "step=0.25", "--encoding-option", "mode=fs"])
    config = apply_flags(TrainConfig(layers=2, encoding_options={"low": 21}), args)
    assert config.hidden == 128 and config.keep == 0.5 and config.attention is True
    assert config.time_hidden == (64, 32) and config.layers == 2  # layers was not given: kept
    assert config.encoding_options == {"low": 21, "step": 0.25, "mode": "fs"}
    assert apply_flags(TrainConfig(attention=True), parser_for().parse_args(["--no-attention"])).attention is False
    sample_args = parser_for(SampleConfig).parse_args(["--temperatures", "0.8,1.2", "--threshold", "none"])
    assert apply_flags(SampleConfig(threshold=0.3), sample_args) == SampleConfig(temperatures=(0.8, 1.2))


def test_bad_flag_values_are_usage_errors():
    with pytest.raises(argparse.ArgumentError):
        parser_for().parse_args(["--device", "tpu"])
    with pytest.raises(argparse.ArgumentError):
        parser_for().parse_args(["--time-hidden", "a,b"])
    with pytest.raises(GenerationError, match="keep"):
        apply_flags(TrainConfig(), parser_for().parse_args(["--keep", "0"]))


def test_presets_are_listed_and_valid():
    names = {preset.name for preset in list_presets()}
    assert {"folk-rnn", "biaxial", "folk-melody", "chorale-frames", "piano-composer"} <= names
    assert all(preset.description for preset in list_presets())
    folk = resolve_config(preset="folk-rnn")
    assert (folk.arch, folk.layers, folk.hidden, folk.keep, folk.encoding) == ("stacked", 3, 512, 0.5, "abc-chars")
    biaxial = resolve_config(preset="biaxial")
    assert biaxial.time_hidden == (300, 300) and biaxial.note_hidden == (100, 50)
    melody = resolve_config(preset="folk-melody")
    assert (melody.arch, melody.hidden, melody.encoding) == ("lstm", 256, "folk-steps")
    with pytest.raises(GenerationError, match="unknown preset 'nope'.*chorale-frames"):
        load_preset("nope")


def test_chorale_frames_preset_is_the_benchmark_protocol():
    config = resolve_config(preset="chorale-frames")
    assert config.encoding == "multilabel" and config.mode == "many-to-many"
    assert config.encoding_options == {"step": 1.0, "low": 21, "high": 108, "transpose": "none", "augment": False}


def test_precedence_defaults_preset_file_flags(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("hidden = 64\nepochs = 7\n[encoding_options]\nhigh = 96\n", encoding="utf-8")
    args = parser_for().parse_args(["--epochs", "3"])
    config = resolve_config(preset="chorale-frames", config_file=path, args=args)
    assert config.encoding == "multilabel"  # from the preset
    assert config.hidden == 64  # the file over the preset's 256
    assert config.epochs == 3  # the flag over the file
    assert config.encoding_options["high"] == 96 and config.encoding_options["low"] == 21  # tables merge
    assert config.batch_size == 16  # preset value nobody overrode
    assert resolve_config(args=parser_for().parse_args([])) == TrainConfig()


def test_architecture_names_are_the_registry_and_a_bad_one_is_named(tmp_path: Path):
    from generation.config import ARCHITECTURE_NAMES
    from generation.models import ARCHITECTURES

    assert ARCHITECTURE_NAMES == tuple(ARCHITECTURES)
    path = tmp_path / "c.toml"
    path.write_text('arch = "gru"\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"c\.toml: arch must be one of lstm, stacked"):
        load_config(path)
    with pytest.raises(argparse.ArgumentError):
        parser_for().parse_args(["--arch", "gru"])
