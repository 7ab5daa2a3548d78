# Two entry points: `make demo` (the main job) and `make test`. Both set up .venv on first use.
# TORCH_SPEC pins the CPU build that lies on this project's machines; a GPU user overrides it,
# e.g. `make test TORCH_SPEC=torch`, to get PyPI's CUDA build.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo serve test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev,bench]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python -m batchsieve demo

serve: $(VENV)/.installed
	$(BIN)/python -m batchsieve serve

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) build *.egg-info

# Mutation testing of the engine's core, group by group (benchmarks/mutation.py; groups and settings in
# [tool.mutmut] of pyproject.toml); not part of CI. MUTATION_ARGS='--group queue' runs one group.
MUTATION_ARGS ?=
mutation: $(VENV)/.installed
	$(BIN)/python benchmarks/mutation.py $(MUTATION_ARGS)
