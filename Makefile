# make report    set up (once) and run the main job: the program-comparison report,
#                reports/compare_programs/index.html (baseline, each program, every combination)
# make test      set up (once) and run the whole test suite, notebooks included (nbval)
# make compare   a quick plain-text comparison: baseline vs each program vs all three
# make report-scenario SCENARIO=data/scenarios/innovation_leap.yaml   one scenario, 30 replicates -> reports/scenario/
# make report-levers                                                  funding x mentor grid -> reports/policy_levers/
# make report-robustness  every assumption uncertain (LHS, Morris, Sobol, PRIM, regret) -> reports/robustness/
# make reproduce regenerate every report from scratch and compare its numbers with the committed ones
# make calibrate re-fit the mechanism parameters to the article (data/calibrated.yaml)
# make notebooks re-execute every notebook in notebooks/ in place at its default parameters
#                (after the model or its calibration changes; then commit them with their outputs)
# make setup     create .venv with a Python >= 3.12, install the project, register the Jupyter kernel

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTHON ?=
NOTEBOOKS := compare_programs scenario policy_levers reproduce_article robustness
SCENARIO ?= data/scenarios/baseline.yaml
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: setup report report-scenario report-levers report-article report-robustness reports reproduce calibrate compare notebooks test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@py=$$(PYTHON="$(PYTHON)" tools/find-python.sh) || exit 1; \
	  test -x $(BIN)/python || { echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name cadre-sim --display-name "Python (cadre-sim)" >/dev/null
	@touch $(STAMP)

report: setup
	$(BIN)/sim report compare_programs -p replicates 30 -p n_communities 100

report-scenario: setup
	$(BIN)/sim report scenario -p scenario $(SCENARIO) -p replicates 30

report-levers: setup
	$(BIN)/sim report policy_levers -p replicates 5 -p n_communities 100

report-robustness: setup   # every assumption uncertain: the default analysis (resumable in results/)
	$(BIN)/sim report robustness -p scale default -p store results

report-article: setup
	$(BIN)/sim report reproduce_article

reports: report-robustness report report-scenario report-levers report-article   # regenerate every committed report (robustness first: the main report reads it)

reproduce: setup   # what an academic runs first: every report from scratch, compared with the committed numbers
	$(BIN)/sim reproduce

calibrate: setup   # re-fit data/calibrated.yaml (about 5 minutes); then `make notebooks reports`
	$(BIN)/sim calibrate

compare: setup
	$(BIN)/sim compare

notebooks: setup
	cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.kernel_name=cadre-sim --ExecutePreprocessor.record_timing=False --KernelManager.transport=ipc \
	  $(addsuffix .ipynb,$(NOTEBOOKS))

test: setup
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q $(NBVAL) notebooks/

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) .pytest_cache
