"""Analysis of a sweep: Parquet tables, statistics over seeds, figures and an HTML report.

Tensors from the engine -> ``tables.write_tables`` -> Parquet -> ``tables.load`` -> ``summary.summarise`` (per
config) / ``aggregate`` (per figure) -> ``figures`` (drawn with ``plotting``) -> ``report`` / ``compare``. Files
are written atomically and JSON strictly (``io``); user errors share ``errors.UserError``. Statistics follow
Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS 2021). Nothing
here imports JAX or the engine.
"""

from .compare import compare
from .io import WriteError
from .report import report
from .stats import (
    Interval,
    bootstrap_ci,
    curve_cis,
    fraction_above,
    iqm,
    mean,
    median,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
    stratified_bootstrap_cis,
)
from .summary import summarise
from .tables import RunDirError, RunTables, load, write_tables

__all__ = [
    "Interval",
    "RunDirError",
    "RunTables",
    "bootstrap_ci",
    "compare",
    "curve_cis",
    "fraction_above",
    "iqm",
    "load",
    "mean",
    "median",
    "optimality_gap",
    "performance_profile",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "report",
    "stratified_bootstrap_ci",
    "stratified_bootstrap_cis",
    "summarise",
    "WriteError",
    "write_tables",
]
