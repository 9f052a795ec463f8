"""The README's generation and studies command lines parse, and its train lines resolve to a valid config
(presets exist, flags are real), so the commands a user copies do not fail on a typo."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands(package: str) -> list[list[str]]:
    prefix = f".venv/bin/python -m {package} "
    lines = [line.split("  #")[0] for line in README.read_text(encoding="utf-8").splitlines()
             if line.startswith(prefix)]
    return [shlex.split(line)[3:] for line in lines]


def test_the_readme_shows_commands_of_both_packages() -> None:
    assert len(_commands("generation")) >= 8 and len(_commands("studies")) >= 5


@pytest.mark.parametrize("argv", _commands("generation"), ids=" ".join)
def test_readme_generation_commands_parse(argv: list[str]) -> None:
    from generation.__main__ import build_parser
    from generation.config import TrainConfig, resolve_config

    if argv[0] == "sweep":
        argv = argv[:argv.index("--")]
    args = build_parser().parse_args(argv)
    if argv[0] == "train":
        config = resolve_config(TrainConfig, preset=args.preset, config_file=args.config, args=args)
        assert config.arch and config.encoding


@pytest.mark.parametrize("argv", _commands("studies"), ids=" ".join)
def test_readme_studies_commands_parse(argv: list[str]) -> None:
    from studies.__main__ import build_parser

    assert build_parser().parse_args(argv).verb == argv[0]
