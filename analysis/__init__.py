"""Analysis of a sweep: Parquet tables, statistics over seeds, figures and an HTML report.

Tensors from the engine -> ``tables.write_tables`` -> Parquet -> ``tables.load`` -> ``summary.summarise`` (per
config) / ``aggregate`` (per figure) -> ``figures`` (drawn with ``plotting``) -> ``report`` / ``compare``. Point
statistics are in ``stats``, their confidence intervals in ``intervals`` (chosen by the coverage measured with
``python -m analysis.coverage``), the seed count a comparison needs in ``seeds``, each config against the sweep's
default config in ``baseline``. Axes of a sampled search space (``space``: which are continuous, which log-scaled)
are drawn config by config (``scatter``), with a smoothed trend and its band (``smooth``). Successive halving's
rungs and population-based training's lineages (``schedules`` reads their tables, ``halving`` and ``pbt`` compute
their statistics) get their own figures and report sections (``schedule_figures``, ``schedule_report``). Files are
written atomically and JSON strictly (``io``); user errors share ``errors.UserError``. Statistics follow Agarwal et
al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS 2021). Nothing here imports
JAX or the engine.
"""

from common.files import WriteError

from .compare import compare
from .intervals import (
    Interval,
    curve_interval,
    improvement_interval,
    interval,
    intervals_of,
    pooled_interval,
    profile_interval,
    proportion_interval,
)
from .report import report
from .seeds import SeedsNeeded, seeds_to_separate
from .smooth import choose_bandwidth, local_linear, trend_band
from .space import AxisScale, axis_scales
from .stats import (
    fraction_above,
    iqm,
    mean,
    median,
    performance_profile,
    probability_of_improvement,
    shortfall,
)
from .summary import summarise
from .tables import RunDirError, RunTables, load, write_tables

__all__ = [
    "AxisScale",
    "Interval",
    "RunDirError",
    "RunTables",
    "SeedsNeeded",
    "axis_scales",
    "choose_bandwidth",
    "compare",
    "curve_interval",
    "fraction_above",
    "improvement_interval",
    "interval",
    "intervals_of",
    "iqm",
    "load",
    "local_linear",
    "mean",
    "median",
    "performance_profile",
    "pooled_interval",
    "probability_of_improvement",
    "profile_interval",
    "proportion_interval",
    "report",
    "seeds_to_separate",
    "shortfall",
    "summarise",
    "trend_band",
    "WriteError",
    "write_tables",
]
