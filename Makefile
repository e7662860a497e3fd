# make compare   set up (once) and run the main job: baseline vs each program vs all three
# make test      set up (once) and run the whole test suite
# make setup     create .venv with a Python >= 3.12 and install the project into it

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTHON ?=

.PHONY: setup compare test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@py=$$(PYTHON="$(PYTHON)" tools/find-python.sh) || exit 1; \
	  test -x $(BIN)/python || { echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

compare: setup
	$(BIN)/sim compare

test: setup
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) .pytest_cache
