# make report    set up (once) and run the main job: the program-comparison report,
#                reports/compare_programs/index.html (baseline, each program, every combination)
#                REPORT_LANG=zh: the same in Simplified Chinese -> reports/compare_programs_zh/ (any report-* target too)
#                CSV_EXCEL=1: CSV files as UTF-8 with a byte-order mark, for Excel
# make test      set up (once) and run the whole test suite, notebooks included (nbval)
# make compare   a quick plain-text comparison: baseline vs each program vs all three
# make explore   the explorer: a Mesa SolaraViz page (sliders for every lever, programs and their windows,
#                live charts) at http://127.0.0.1:8765/ (PORT=...); docs/explorer.md
# make report-scenario SCENARIO=data/scenarios/innovation_leap.yaml   one scenario, 30 replicates -> reports/scenario-<hash>/
#                (reports/scenario/ itself is the baseline reference)
# make report-levers                                                  funding x mentor grid -> reports/policy_levers/
# make report-robustness  every assumption uncertain (LHS, Morris, Sobol, PRIM, regret) -> reports/robustness/
# make report-design      search the levers for packages that beat P1-P3 on score, cost and robustness -> reports/design/
# make reports   regenerate every committed reference report in reports/ (the only command that rewrites them)
# make reproduce run the calibration again and check it against the posterior, then regenerate every report from
#                scratch and compare its numbers with the committed ones (about an hour)
# make calibrate the calibration: the posterior by ABC-SMC (data/posterior.parquet, at most 30 minutes of sampling), its median as the
#                point values (data/calibrated.yaml) and every draw's index parameters; then `make notebooks reports`
# make notebooks re-execute every notebook in notebooks/ in place at its default parameters
#                (after the model or its calibration changes; then commit them with their outputs)
# make setup     create .venv with a Python >= 3.12, install exactly the locked packages (requirements.lock)
#                and the project (editable), register the Jupyter kernel; each step is named as it runs
# make lock      re-resolve requirements.lock from pyproject.toml (uv pip compile), then `make setup`

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
PYTHON ?=
PORT   ?= 8765
REPORT_LANG ?= en
CSV_EXCEL ?=
REPORT_OPTS := --lang $(REPORT_LANG)$(if $(CSV_EXCEL), --excel)
NOTEBOOKS := compare_programs scenario policy_levers reproduce_article robustness design
SCENARIO ?= data/scenarios/baseline.yaml
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg

.PHONY: explore explorer-assets setup lock report report-scenario report-levers report-article report-robustness report-design reports reproduce calibrate compare notebooks test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@PYTHON="$(PYTHON)" tools/setup.sh $(VENV) $(LOCK)
	@touch $(STAMP)

# Every extra (dev included), for every platform, with hashes; pip installs it (`make setup`).
lock: setup
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.12 --generate-hashes \
	  --custom-compile-command "make lock" --quiet -o $(LOCK)
	@echo "$(LOCK) written; run 'make setup' to install it, then commit it"

# The reference reports committed in reports/<name>/ (`make reproduce` compares with them).
# `sim report` writes into reports/<name>/ only when the parameters are the reference's; other
# parameters go to reports/<name>-<hash>/. Only `make reports` (explicit --out) rewrites them.
REF_COMPARE  := compare_programs -p replicates 30 -p n_communities 100
REF_SCENARIO := scenario -p scenario data/scenarios/baseline.yaml -p replicates 30
REF_LEVERS   := policy_levers -p replicates 5 -p n_communities 100
REF_ARTICLE  := reproduce_article -p seeds 20 -p draws 40 -p sensitivity_seeds 3 -p validation_seeds 10 -p all_variants True
REF_ROBUST   := robustness -p scale default -p store results
REF_DESIGN   := design -p scale default -p store results

report: setup
	$(BIN)/sim report $(REPORT_OPTS) $(REF_COMPARE)

report-scenario: setup
	$(BIN)/sim report $(REPORT_OPTS) scenario -p scenario $(SCENARIO) -p replicates 30

report-levers: setup
	$(BIN)/sim report $(REPORT_OPTS) $(REF_LEVERS)

report-robustness: setup   # every assumption uncertain: the default analysis (resumable in results/)
	$(BIN)/sim report $(REPORT_OPTS) $(REF_ROBUST)

report-design: setup   # the design search at its default size (resumable in results/)
	$(BIN)/sim report $(REPORT_OPTS) $(REF_DESIGN)

report-article: setup
	$(BIN)/sim report $(REPORT_OPTS) $(REF_ARTICLE)

reports: setup   # regenerate every committed reference report (the only command that rewrites them; robustness first: the main report reads it)
	$(BIN)/sim report --out reports/robustness $(REF_ROBUST)
	$(BIN)/sim report --out reports/robustness_zh --lang zh $(REF_ROBUST)
	$(BIN)/sim report --out reports/compare_programs $(REF_COMPARE)
	$(BIN)/sim report --out reports/compare_programs_zh --lang zh $(REF_COMPARE)
	$(BIN)/sim report --out reports/scenario $(REF_SCENARIO)
	$(BIN)/sim report --out reports/policy_levers $(REF_LEVERS)
	$(BIN)/sim report --out reports/reproduce_article $(REF_ARTICLE)
	$(BIN)/sim report --out reports/design $(REF_DESIGN)
	$(BIN)/sim report --out reports/design_zh --lang zh $(REF_DESIGN)

reproduce: setup   # what an academic runs first: the calibration and every report from scratch, checked against the committed ones
	$(BIN)/sim reproduce --calibration

calibrate: setup   # the calibration (about 30 minutes on 2 cores); after an interruption: .venv/bin/sim calibrate --resume
	rm -f results/calibration/abc.db results/calibration/abc.db.json
	$(BIN)/sim calibrate
	$(BIN)/python tools/write_docs.py

compare: setup
	$(BIN)/sim compare

# The explorer page's browser files (Solara's Vue app, RequireJS, Vega) from the npm registry into
# .venv/share/solara/cdn, so the page needs no CDN (tools/explorer-assets.sh; needs npm, else says so).
explorer-assets: setup
	@tools/explorer-assets.sh $(VENV)

explore: setup explorer-assets
	$(BIN)/sim explore --port $(PORT)

notebooks: setup
	cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.kernel_name=cadre-sim --ExecutePreprocessor.record_timing=False --KernelManager.transport=ipc \
	  $(addsuffix .ipynb,$(NOTEBOOKS))

test: setup explorer-assets
	$(BIN)/ruff check src tests
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  echo "explorer browser test: runs in /usr/bin/chromium (tests/test_explorer_browser.py)"; \
	else \
	  echo "explorer browser test: SKIPPED, no /usr/bin/chromium or /usr/bin/chromedriver (apt-get install chromium chromium-driver)"; \
	fi
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q $(NBVAL) notebooks/

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) .pytest_cache
