# Two commands, from a fresh clone:
#   make search   set up .venv and run the main job: tunebench search alexnet-caltech
#   make test     set up .venv and run the tests (what .ci/run calls)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The dataset: $TUNEBENCH_DATA, else the shared sample copy beside the checkout, else ./data (downloaded).
DATA ?= $(or $(TUNEBENCH_DATA),$(wildcard ../shared/data/caltech101),data)
ARGS ?=

.PHONY: search smoke test clean

$(BIN)/tunebench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

search: $(BIN)/tunebench
	$(BIN)/tunebench search alexnet-caltech --data-dir $(DATA) $(if $(wildcard $(DATA)),,--download) $(ARGS)

smoke: ARGS += --smoke
smoke: search

test: $(BIN)/tunebench
	$(BIN)/pytest $(ARGS)

clean:
	rm -rf $(VENV) ray_results mlruns.db mlruns.db.lock mlruns mlartifacts .pytest_cache
