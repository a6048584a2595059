"""The sweep engine: from a grid file to trained runs, their tables and report.

Layers, lowest first (a module imports only from its own layer or lower ones; ``tests/test_layers.py`` holds it):

1. ``spec``: the grid file (fields, sampled spaces, ``[search]``), checked.
2. ``plan``: configs, runs (``config * seeds + seed``), static groups, keys and waves.
3. ``compute``: devices, each group's compiled program, the waves' layout.
4. ``store``: records, parked states, checkpoints, the run folder, the manifest.
5. ``schedules``: what trains next (the grid, successive halving, PBT) and the registry of schedulers.
6. ``cluster``: several processes as one sweep (agreement, stopping together, the supervisor).
7. ``engine``: the chunk loop (``progress``, pure Python in the lowest layer, words its time-left lines).
8. ``cli``: ``python -m sweep``; ``bench``: the throughput benchmarks.

Below ``sweep`` lie ``core`` (pure JAX training), ``analysis`` (tables to report) and ``common`` (errors and file
writing). ``import sweep`` imports none of them, nor JAX, nor a plotting library.
"""
