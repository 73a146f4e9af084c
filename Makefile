# Two commands, from a fresh clone:
#   make search   set up .venv and run the main job: tunebench search alexnet-caltech (1 h without a GPU)
#   make test     set up .venv and run the tests (what .ci/run calls)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The dataset: $TUNEBENCH_DATA, else the shared sample copy beside the checkout, else ./data (downloaded).
DATA ?= $(or $(TUNEBENCH_DATA),$(wildcard ../shared/data/caltech101),data)
ARGS ?=
# Without a GPU (no nvidia-smi) the main job is bounded to an hour: about 16 h in full on a 2-core laptop.
# `make search BUDGET=` runs it in full, `make search BUDGET=3h` longer.
BUDGET ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,1h)

.PHONY: search smoke test clean

$(BIN)/tunebench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

search: $(BIN)/tunebench
	$(BIN)/tunebench search alexnet-caltech --data-dir $(DATA) $(if $(wildcard $(DATA)),,--download) \
		$(if $(BUDGET),--time-budget $(BUDGET)) $(ARGS)

smoke: ARGS += --smoke
smoke: BUDGET =
smoke: search

test: $(BIN)/tunebench
	$(BIN)/pytest $(ARGS)

clean:
	rm -rf $(VENV) ray_results mlruns.db mlruns.db.lock mlruns mlartifacts .pytest_cache
