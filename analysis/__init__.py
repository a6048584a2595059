"""Analysis of a sweep: Parquet tables, statistics over seeds, figures and an HTML report.

Subpackages, lowest first (a module imports only from its own layer or lower ones; ``tests/test_layers.py``
holds it), as the data flows:

1. ``stats``: pure statistics over seeds: point statistics (``point``), their confidence intervals
   (``intervals``, chosen by the coverage and power measured in ``coverage``), the seeds a comparison needs
   (``seeds``), smoothed trends (``smooth``), and each config's statistics as a table (``summary``).
2. ``tables``: a run folder's Parquet tables and manifest, written and read back checked (``run``, ``read``,
   ``search`` for successive halving's and PBT's own tables), how a sampled axis was drawn (``axes``), and
   values formatted for people (``format``).
3. ``summaries``: tidy frames computed once from the tables: per figure (``aggregate``), each config against the
   defaults (``baseline``), successive halving's rungs (``halving``) and PBT's lineages (``pbt``).
4. ``figures``: draw those frames and compute nothing (``style``, ``runs``, ``scatter``, ``search``, and
   ``sweep``: every figure of a run folder).
5. ``pages``: HTML pages (``markup``, ``report``, ``search``), several sweeps side by side (``compare``), and the
   analysis timed on a synthetic sweep (``bench``).

Statistics follow Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS
2021). Nothing here imports JAX or the engine. ``import analysis`` and the tables and statistics import no
plotting library: ``report`` and ``compare`` (which draw) are imported when first used.
"""

from analysis.stats.improvement import Improvement, benjamini_hochberg, holm, improvement, improvement_interval
from analysis.stats.intervals import (
    Interval,
    curve_interval,
    interval,
    intervals_of,
    pooled_interval,
    profile_interval,
    proportion_interval,
)
from analysis.stats.point import (
    fraction_above,
    iqm,
    mean,
    median,
    performance_profile,
    probability_of_improvement,
    shortfall,
)
from analysis.stats.seeds import SeedsNeeded, seeds_to_separate
from analysis.stats.smooth import choose_bandwidth, local_linear, trend_band
from analysis.stats.summary import summarise
from analysis.tables.axes import AxisScale, axis_scales
from analysis.tables.read import RunDirError
from analysis.tables.run import RunTables, load, write_tables
from common.files import WriteError

_DRAWING = {"report": "analysis.pages.report", "compare": "analysis.pages.compare"}


def __getattr__(name: str):
    """``analysis.report`` and ``analysis.compare``, imported on first use: they import matplotlib and seaborn,
    which a sweep that only writes tables (or ``python -m sweep list``) need not load."""
    if name in _DRAWING:
        import importlib

        return getattr(importlib.import_module(_DRAWING[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


__all__ = [
    "AxisScale",
    "Improvement",
    "Interval",
    "RunDirError",
    "RunTables",
    "SeedsNeeded",
    "WriteError",
    "axis_scales",
    "benjamini_hochberg",
    "choose_bandwidth",
    "compare",
    "curve_interval",
    "fraction_above",
    "holm",
    "improvement",
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
    "write_tables",
]
