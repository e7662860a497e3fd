"""The batch experiment files, installed as the resource package `sim.experiments` (see `sim.resources.experiment_file`)."""
