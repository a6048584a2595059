"""The grid file: what a sweep is asked to train, checked before anything runs.

Modules, lowest first: ``fields`` (which keys are hyperparameters and the types and limits of their values),
``space`` (a sampled ``[space]`` and its draws), ``variants`` (named agents, ``[variants]``), ``search``
(``[search]``: the sampling method and a scheduler's settings through the ``SchedulerSettings`` protocol), ``grid``
(the whole file: ``Grid``, ``parse``, ``load``). Nothing here imports a scheduler, the plan or JAX: the registry of
schedulers is handed in (``sweep.schedules.load_grid``).
"""
