"""What a sweep keeps on disk and in memory between chunks.

Modules, lowest first: ``records`` (every run's episode and evaluation rows, in memory), ``parked`` (run states
kept between a scheduler's stretches), ``checkpoint`` (records, parked and live states written atomically and
incrementally, and read back for a resume), ``run_folder`` (the run folder: made new or found for a resume, its
``sweep.json``, the ``latest`` link and the ``DONE`` marker), ``manifest`` (the runs table and the manifest
handed to ``analysis``).
"""
