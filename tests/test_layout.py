"""The project's layout rules that keep it installable and its parts independent."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tunelab import REPO_ROOT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _sources(folder: str) -> list[Path]:
    return sorted((REPO_ROOT / folder).rglob("*.py"))


def test_scripts_and_benchmarks_do_not_edit_sys_path() -> None:
    offenders = [str(path.relative_to(REPO_ROOT)) for folder in ("scripts", "benchmarks")
                 for path in _sources(folder) if "sys.path" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_tests_and_benchmarks_do_not_import_each_other() -> None:
    from_tests = {str(p.relative_to(REPO_ROOT)) for p in _sources("tests")
                  if any(name.split(".")[0] == "benchmarks" for name in _imports(p))}
    from_benchmarks = {str(p.relative_to(REPO_ROOT)) for p in _sources("benchmarks")
                       if any(name.split(".")[0] == "tests" for name in _imports(p))}
    assert from_tests == set() and from_benchmarks == set()


def test_the_project_is_installed_so_it_imports_from_any_folder(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import data, evaluation, generation, studies, tunelab; "
                           "print(evaluation.__file__)"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(REPO_ROOT)


def test_benchmark_help_runs_from_outside_the_repository(tmp_path: Path) -> None:
    for script in ("bench_answers.py", "bench_evaluation.py"):
        done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / script), "--help"], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
