# AIPROD Studio: set-up, run, test, lint.
#   make run    create .venv if needed and start the studio
#   make test   create .venv if needed and run the whole suite (headless)
# CUDA users: make venv TORCH_PIP_ARGS="--index-url <PyTorch's CUDA wheel index for your CUDA version>"

PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
TORCH_SPEC     ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: venv run test lint clean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes in first, alone, so that TORCH_PIP_ARGS can point at the CUDA build of the pinned version;
# the second install then finds torch==2.13.0 satisfied (the pin is in pyproject.toml) and leaves it be.
$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

run: venv
	$(BIN)/aiprod-studio

test: venv
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf build dist *.egg-info artifacts .pytest_cache .ruff_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
