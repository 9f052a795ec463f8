"""``python -m generation experiment NAME``: run every variant x corpus x seed of an experiment, rank the
variants, and write the experiment's results and the report every experiment adds its section to.

Layout under ``OUT/<size>/`` (``size`` = quick or full):

- ``<experiment>/runs/<corpus>/<variant>/seed-<s>/``: one run each (:mod:`generation.experiments_run`);
- ``<experiment>/results.json`` and ``results.csv``: every run's figures, the rankings, the command, the
  machine and the wall time;
- ``references/``: the test splits the samples are scored against (features computed once);
- ``report.html``: one self-contained HTML report (plotly inside) with a section per experiment found here.

Corpora named like ``data.CORPORA`` are built on first use into the data folder (``NAME`` for the whole
corpus, ``NAME-firstN`` for a build limit) and reused afterwards. Each corpus and encoding is prepared once
before any run starts (runs may run in parallel processes, ``jobs``). The *ranking* experiment trains nothing:
it collects the runs of every other experiment of the same size and ranks all variants per corpus.
"""

from __future__ import annotations

import csv
import json
import math
import multiprocessing
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generation.errors import GenerationError
from generation.experiments import EXPERIMENTS_DIR, Experiment, load_experiment
from generation.experiments_run import RunSpec, build_reference, execute_run, human_reference

__all__ = ["DEFAULT_OUT", "ExperimentResult", "machine_description", "rank_records", "resolve_corpus",
           "run_experiment"]

RESULTS_FILE = "results.json"
CSV_FILE = "results.csv"


def _default_out() -> Path:
    from tunelab import REPO_ROOT  # noqa: PLC0415

    return REPO_ROOT / "reports" / "experiments"


DEFAULT_OUT = _default_out()


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    size: str
    folder: Path
    results: Path
    report: Path
    records: list[dict[str, Any]]
    rankings: list[dict[str, Any]]
    wall_seconds: float


def machine_description() -> str:
    """CPU model, cores, torch version and device, for RESULTS.md and the report."""
    import torch  # noqa: PLC0415

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = f"CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU only"
    return (f"{model}, {os.cpu_count()} cores, {device}, torch {torch.__version__}, {torch.get_num_threads()} "
            f"torch threads, Python {platform.python_version()}")


def resolve_corpus(name: str, build_limit: int | None, data_dir: Path, jobs: int = 1) -> tuple[str, Path]:
    """(report name, folder) of a corpus: a ``data.CORPORA`` name is built (or found built) in ``data_dir``;
    anything else is a folder."""
    from data import CORPORA, DataError, build_corpus  # noqa: PLC0415

    if name in CORPORA:
        folder = Path(data_dir) / (name if build_limit is None else f"{name}-first{build_limit}")
        try:
            return name, build_corpus(name, out_dir=folder, limit=build_limit, jobs=jobs)
        except DataError as error:
            raise GenerationError(f"corpus {name}: {error}") from None
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise GenerationError(f"corpus {name!r} is neither a corpus name ({', '.join(CORPORA)}) nor a folder")
    return folder.name, folder


def _activation_input(corpus: Path, encoding: str, limit: int | None, folder: Path) -> Path | None:
    """The piece an activation map reads: the first test tune (ABC encodings) or test piece."""
    from data import corpus_files  # noqa: PLC0415
    from generation.encodings import ENCODINGS  # noqa: PLC0415

    if ENCODINGS[encoding]().source == "abc":
        from generation.corpus import corpus_sources  # noqa: PLC0415

        tunes = corpus_sources(corpus, "abc", limit).tunes["test"]
        if not tunes:
            return None
        path = folder / "activation-input.abc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tunes[0].text, encoding="utf-8")
        return path
    files = corpus_files(corpus, split="test")
    return files[0] if files else None


def _specs(experiment: Experiment, size: str, seeds: int, root: Path, data_dir: Path, cache_dir: Path | None,
           jobs: int, progress: bool, threads: int | None) -> tuple[list[RunSpec], dict[str, str]]:
    from generation.runs import prepare_for_run  # noqa: PLC0415

    settings = experiment.size(size)
    references = root / "references"
    specs, corpora = [], {}
    for corpus_name in experiment.corpora:
        key, corpus = resolve_corpus(corpus_name, settings.build_limit.get(corpus_name), data_dir, jobs)
        corpora[key] = str(corpus)
        suffix = "" if settings.limit is None else f"-limit{settings.limit}"
        human = human_reference(corpus, settings.limit, references / f"{key}{suffix}-test")
        for variant in experiment.variants_for(size):
            config = experiment.train_config(size, variant, 0)
            sample = experiment.sample_config(size, variant, 0)
            prepared, _ = prepare_for_run(corpus, config, cache_dir=cache_dir, limit=settings.limit,
                                          progress=progress, jobs=jobs)
            encoded = build_reference(prepared, references / f"{prepared.name}-test", tempo=sample.tempo)
            activation = None
            if "activations" in experiment.figures:
                activation = _activation_input(corpus, config.encoding, settings.limit, references / prepared.name)
            for index in range(seeds):
                specs.append(RunSpec(
                    experiment=experiment.name, variant=variant.name, corpus_key=key, corpus=corpus, seed=index,
                    first_seed=index == 0, train=experiment.train_config(size, variant, index).to_dict(),
                    sample=experiment.sample_config(size, variant, index).to_dict(), limit=settings.limit,
                    run_dir=root / experiment.name / "runs" / key / variant.name / f"seed-{index}",
                    cache_dir=cache_dir, human=human, encoded=encoded, variant_fields=dict(variant.train),
                    activation_input=activation,
                    figures=experiment.figures, progress=progress and jobs == 1, threads=threads))
    return specs, corpora


def _worker_init(threads: int) -> None:
    import torch  # noqa: PLC0415

    torch.set_num_threads(threads)


def _execute(specs: list[RunSpec], jobs: int, threads: int | None, progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm  # noqa: PLC0415

    bar = tqdm(total=len(specs), desc="runs", unit="run", disable=not progress)
    records: list[dict[str, Any]] = []
    try:
        if jobs <= 1:
            for spec in specs:
                bar.set_postfix_str(f"{spec.corpus_key}/{spec.variant}/seed-{spec.seed}")
                records.append(execute_run(spec))
                bar.update()
        else:  # one fresh process per run (spawn: torch does not survive fork); threads shared out
            per_run = threads or max(1, (os.cpu_count() or 1) // jobs)
            context = multiprocessing.get_context("spawn")
            with context.Pool(jobs, initializer=_worker_init, initargs=(per_run,), maxtasksperchild=1) as pool:
                for record in pool.imap(execute_run, specs):
                    records.append(record)
                    bar.update()
    finally:
        bar.close()
    return records


def rank_records(records: list[dict[str, Any]], ranks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ranking (:func:`generation.ranking.rank_variants`) per corpus and rank metric, over the seeds of
    each variant; variants without the metric are left out of that ranking."""
    from generation.ranking import rank_variants  # noqa: PLC0415

    out = []
    for corpus in dict.fromkeys(r["corpus"] for r in records):
        for rank in ranks:
            chosen = set(rank.get("variants") or ())
            values = [(r["variant"], r["metrics"].get(rank["metric"], math.nan)) for r in records
                      if r["corpus"] == corpus and rank["metric"] in r.get("metrics", {})
                      and (not chosen or r["variant"] in chosen)]
            if not values:
                continue
            ranking = rank_variants(values, metric=rank["metric"], higher_is_better=rank["higher_is_better"])
            out.append({"corpus": corpus, "metric": rank["metric"], "label": rank.get("label", ""),
                        "ranking": ranking.to_dict()})
    return out


def _collect(root: Path, exclude: str) -> list[dict[str, Any]]:
    """The records of every other experiment of this size, variants renamed ``experiment/variant``."""
    records = []
    for path in sorted(root.glob(f"*/{RESULTS_FILE}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") != "variants" or data["experiment"] == exclude:
            continue
        for record in data["records"]:
            if not record.get("error"):
                records.append({**record, "variant": f"{data['experiment']}/{record['variant']}"})
    return records


def _write_csv(records: list[dict[str, Any]], path: Path) -> None:
    from tunelab.csv_safe import escape_cell  # noqa: PLC0415

    keys: list[str] = []
    for record in records:
        keys.extend(k for k in record.get("metrics", {}) if k not in keys)
    columns = ["experiment", "corpus", "variant", "seed", "arch", "encoding", *keys, "error", "run_dir"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            row = {**record, **record.get("metrics", {})}
            writer.writerow([escape_cell(row.get(c, "")) for c in columns])


def run_experiment(name: str, size: str = "quick", *, out_dir: Path | str | None = None, seeds: int | None = None,
                   jobs: int = 1, threads: int | None = None, data_dir: Path | str | None = None,
                   experiments_dir: Path | str = EXPERIMENTS_DIR, cache_dir: Path | str | None = None,
                   progress: bool = True, command: str | None = None) -> ExperimentResult:
    """Run experiment ``name`` at ``size`` (``seeds`` overrides the size's seed count) and rewrite the report.

    Raises GenerationError for an unknown experiment or size, a corpus that cannot be built or read, or
    settings a variant cannot train with (checked before anything trains)."""
    from generation.experiments_report import write_report  # noqa: PLC0415
    from tunelab import data_dir as default_data_dir  # noqa: PLC0415

    if jobs < 1:
        raise GenerationError(f"--jobs must be at least 1, not {jobs}")
    if seeds is not None and seeds < 1:
        raise GenerationError(f"--seeds must be at least 1, not {seeds}")
    experiment = load_experiment(name, Path(experiments_dir))
    settings = experiment.size(size)
    n_seeds = seeds or settings.seeds
    root = Path(out_dir or DEFAULT_OUT) / size
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if threads:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)
    ranks = [{"metric": r.metric, "higher_is_better": r.higher_is_better, "label": r.label,
              "variants": list(r.variants)} for r in experiment.ranks]
    corpora: dict[str, str] = {}
    if experiment.kind == "ranking":
        records = _collect(root, name)
        if not records:
            raise GenerationError(f"no results of other experiments under {root}: run some first (e.g. python -m "
                                  f"generation experiment chorale-benchmark --{size})")
    else:
        specs, corpora = _specs(experiment, size, n_seeds, root, Path(data_dir or default_data_dir()),
                                Path(cache_dir) if cache_dir else None, jobs, progress, threads)
        records = _execute(specs, jobs, threads, progress)
    rankings = rank_records(records, ranks)
    wall = time.perf_counter() - started
    results = {
        "experiment": name, "title": experiment.title, "question": experiment.question, "source": experiment.source,
        "order": experiment.order, "kind": experiment.kind, "size": size, "seeds": n_seeds, "corpora": corpora,
        "limit": settings.limit, "columns": list(experiment.columns), "figures": list(experiment.figures),
        "notes": list(experiment.notes), "ranks": ranks, "grid": list({**experiment.grid, **settings.grid}),
        "wall_seconds": wall, "command": command or f"python -m generation experiment {name} --{size}",
        "machine": machine_description(), "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "records": records,
        "rankings": rankings}
    path = folder / RESULTS_FILE
    path.write_text(json.dumps(results, indent=1, allow_nan=True, default=str) + "\n", encoding="utf-8")
    _write_csv(records, folder / CSV_FILE)
    if "grid" in experiment.figures:
        from generation.experiments_report import write_grid_table  # noqa: PLC0415

        write_grid_table(results, folder)
    report = write_report(root)
    return ExperimentResult(name, size, folder, path, report, records, rankings, wall)
