# `make demo` runs the main job, `make test` the whole test suite; both set up everything they need.
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip  # through the venv's python: a copied or moved .venv still installs into itself

.PHONY: demo test setup setup-test system-demo system-test lint bench clean-venv

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

# the project itself, editable: `import evaluation` works from any folder, scripts need no sys.path edits
$(VENV)/.installed-project: pyproject.toml $(VENV)/.installed
	$(PIP) install -q --no-deps -e .
	touch $@

system-demo:
	bash scripts/install_system_deps.sh demo

system-test:
	bash scripts/install_system_deps.sh test

setup: system-demo $(VENV)/.installed $(VENV)/.installed-project

setup-test: system-test $(VENV)/.installed-dev $(VENV)/.installed-project

demo: setup
	$(PY) scripts/demo.py $(DEMO_ARGS)

test: setup-test
	TUNELAB_TEST_POSTGRES_URL="$$(bash scripts/test_postgres.sh)" $(PY) -m pytest $(PYTEST_ARGS)

lint: setup-test
	$(VENV)/bin/ruff check .

bench: setup-test
	$(PY) benchmarks/bench_evaluation.py
	$(PY) benchmarks/bench_render.py
	$(PY) benchmarks/bench_answers.py
	$(PY) benchmarks/bench_prepare.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_sampling.py

clean-venv:
	rm -rf $(VENV)
