"""A run folder's tables on disk: written whole by the engine, read back checked, and values formatted for people.

Modules, lowest first: ``read`` (one Parquet table and its columns, checked), ``axes`` (how each swept axis was
drawn: discrete, continuous, log-scaled), ``search`` (successive halving's and PBT's own tables), ``format``
(numbers and values in labels and text), ``run`` (``write_tables``, ``load`` and ``RunTables``: every table of a
run folder).
"""
