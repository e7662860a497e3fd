"""The report notebooks, installed as the resource package `sim.notebooks` (see `sim.resources.notebook_file`)."""
