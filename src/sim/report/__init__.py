"""Reports: the scenario notebooks executed with papermill into reports/<name>/ (HTML, PNG, CSV, metrics.json).

Modules: run (`sim report`: papermill, HTML, metrics and provenance), notebook (helpers the
notebooks share: paths, experiment overrides, batch runs, writing outputs), cohorts (per-cadre
histories for retention curves and age pyramids), summary (the comparison report's
plain-language summary, written from the results). Statistics are in sim.stats and figure
style in sim.figures. See docs/notebooks.md.
"""
