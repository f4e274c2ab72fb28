# AIPROD Studio: set-up, run, test, lint.
#   make run    create .venv if needed and start the studio
#   make test   create .venv if needed and run the whole suite (headless)
#   make wheel  build dist/aiprod_studio-*.whl (what the installers install)
# CUDA users: make venv TORCH_PIP_ARGS="--index-url <PyTorch's CUDA wheel index for your CUDA version>"
# Python: 3.11 or 3.12, whichever runs (3.11 first); or make venv PYTHON=/path/to/python3.12

# A name that runs and is 3.11 or 3.12 (a pyenv shim for a version not selected exists but fails to run).
SUPPORTED_PY := import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))
ifeq ($(origin PYTHON), undefined)
PYTHON := $(firstword $(foreach p,python3.11 python3.12 python3,$(if $(shell $(p) -c '$(SUPPORTED_PY)' 2>/dev/null && echo y),$(p))))
endif
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
TORCH_SPEC     ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: venv run test lint clean wheel

venv: $(STAMP)

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "make: Python 3.11 or 3.12 not found; install one or pass PYTHON=/path/to/python3.12" >&2; exit 1; fi
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

wheel: venv
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation -w dist .

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf build dist *.egg-info artifacts .pytest_cache .ruff_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
