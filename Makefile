# Two commands work on a fresh clone with only Python and make:
#   make demo   sets up .venv and runs the one-machine demo
#   make test   sets up .venv and runs the whole test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck e2e bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,server,agent]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/evals-action demo

# TEST_ARGS=lint|pytest|e2e runs one part (the CI workflows split it that way).
test: $(STAMP)
	bash scripts/test.sh $(TEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check evals_action tests benchmarks
	$(BIN)/ruff format --check evals_action tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
