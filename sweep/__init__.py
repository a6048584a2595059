"""The sweep engine: grids, devices, chunks, checkpoints and the command line."""
