"""The project's data files, installed as the resource package `sim.data` (read them with `sim.resources.data_file`)."""
