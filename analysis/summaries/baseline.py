"""Each config of a sweep against its default config: P(config > defaults) on the final return and the AUC.

The default config is the one whose every axis holds that field's default. The defaults come from the manifest
(``manifest["defaults"]``: ``{field: default}`` as table cells, e.g. ``"64x64"``, ``"inf"``), which the engine
writes; ``analysis`` does not import ``core``. Configs share their seeds, so each comparison pairs runs by seed
(``improvement.improvement``). A verdict is "better" or "worse" only where the comparison stays significant with
the false discovery rate over the table's comparisons of one measure held at 5% (Benjamini-Hochberg): the table
compares many configs with one, and about 1 in 20 of the configs equal to the defaults would otherwise read as
different. A sampled space practically never draws the defaults exactly, and then there is no default config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.improvement import benjamini_hochberg, improvement
from analysis.stats.summary import run_auc, seed_matrix
from analysis.summaries import halving, pbt
from analysis.tables.format import format_value, manifest_number
from analysis.tables.run import RunTables

DEFAULTS_KEY = "defaults"  # the manifest's {field: default}
# A float default as it reads back from a float32 column differs from it in the 8th digit; a value drawn from a
# continuous range is as good as never that close.
REL_TOL = 1e-6
METRICS = ("final", "auc")  # the compared metrics, as prefixes of ``versus_default``'s columns
FDR = 0.05  # the false discovery rate a verdict of the table holds (Benjamini-Hochberg over one measure's column)


def verdict_word(lo: float, hi: float, clear: bool = True) -> str:
    """One word for the interval of P(X > Y): ``better`` (all of it above 0.5), ``worse`` (all below),
    ``unclear`` (it contains 0.5, or ``clear`` is False: the comparison did not survive the correction for the
    many comparisons of its table), ``no CI`` (an end is undefined: a config with one seed)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no CI"
    if lo > 0.5 and clear:
        return "better"
    if hi < 0.5 and clear:
        return "worse"
    return "unclear"


def same_value(value: Any, default: Any) -> bool:
    """Whether a runs-table cell holds a field's default as the manifest records it (``"inf"`` for infinity;
    floats equal to ``REL_TOL``; a boolean only equals a boolean)."""
    if isinstance(default, bool) or isinstance(value, bool | np.bool_):
        return isinstance(default, bool) and isinstance(value, bool | np.bool_) and bool(value) == default
    want = manifest_number(default)
    if want is None:
        return isinstance(default, str) and str(value) == default
    try:
        got = float(value)
    except (TypeError, ValueError):
        return False
    return got == want or math.isclose(got, want, rel_tol=REL_TOL)


def default_config(t: RunTables) -> int | None:
    """The config whose every axis value is its field's default (``manifest["defaults"]``), or None: no axes,
    no recorded default for an axis, or no config at them all. For PBT None: its hyperparameters change."""
    defaults = t.manifest.get(DEFAULTS_KEY)
    if not t.axes or not isinstance(defaults, Mapping) or any(a not in defaults for a in t.axes) or pbt.is_pbt(t):
        return None
    configs = t.runs.groupby("config", sort=True)[list(t.axes)].first()
    for c, row in configs.iterrows():
        if all(same_value(row[a], defaults[a]) for a in t.axes):
            return int(c)
    return None


def changes(t: RunTables) -> dict[int, str]:
    """``{config: "per=on, n_step=3"}``: each config's axes that are not at their default (the
    manifest's), in axis order, as ``aggregate.config_labels`` writes them; ``"the defaults"`` for none."""
    defaults = t.manifest.get(DEFAULTS_KEY)
    defaults = defaults if isinstance(defaults, Mapping) else {}
    configs = t.runs.groupby("config", sort=True)[list(t.axes)].first()
    out = {}
    for c, row in configs.iterrows():
        changed = [a for a in t.axes if a not in defaults or not same_value(row[a], defaults[a])]
        out[int(c)] = ", ".join(f"{a}={format_value(row[a])}" for a in changed) or "the defaults"
    return out


def fixed_changes(t: RunTables) -> dict[str, Any]:
    """``{field: value}``: the fields the sweep fixed (not axes) away from their defaults, e.g. a grid's
    ``[config]`` or a ``--set``: the default config has them too (from the manifest's ``traced_fixed`` and
    ``static_groups``; a static field that differs between groups is an axis)."""
    defaults = t.manifest.get(DEFAULTS_KEY)
    if not isinstance(defaults, Mapping):
        return {}
    fixed = dict(t.manifest.get("traced_fixed") or {})
    groups = t.manifest.get("static_groups") or []
    for name in defaults:
        values = {str(g.get(name)) for g in groups}
        if groups and name in groups[0] and len(values) == 1:
            fixed.setdefault(name, groups[0][name])
    return {k: v for k, v in fixed.items() if k in defaults and k not in t.axes and not same_value(v, defaults[k])}


def paired_columns(x: np.ndarray, y: np.ndarray, fdr: float = FDR) -> dict[str, np.ndarray]:
    """P(row i of ``x`` > ``y``) for each row of ``x [rows, seeds]`` against ``y [seeds]``, paired by seed:
    ``p``, its 95% interval ``ci_low``/``ci_high``, the p-value of P = 1/2 ``pvalue``, and ``clear`` (significant
    with the false discovery rate over the rows held at ``fdr``: Benjamini-Hochberg)."""
    found = improvement(x, y)
    clear = benjamini_hochberg(found.pvalue, fdr)
    return {"p": found.point, "ci_low": found.low, "ci_high": found.high, "pvalue": found.pvalue, "clear": clear}


def versus_default(t: RunTables, default: int, *, fdr: float = FDR) -> pd.DataFrame:
    """One row per other config: ``config``, then for ``final`` (the final eval return) and ``auc`` (the
    normalised AUC, ``summary.run_auc``) P(config > default) ``<m>_p`` with its 95% interval ``<m>_ci_low``,
    ``<m>_ci_high``, the p-value of P = 1/2 ``<m>_pvalue``, ``<m>_clear`` (significant with the false discovery
    rate over this table's column held at ``fdr``: Benjamini-Hochberg) and ``<m>_verdict`` (``verdict_word``).

    Runs are paired by seed. In a halving sweep only configs that stopped where the default config did are
    compared (the others' last evaluations are at other steps). Sorted by ``final_p``, then ``auc_p``, highest
    first, then by config.
    """
    mats = {
        "final": seed_matrix(t.runs, "final_eval_return")[0],
        "auc": seed_matrix(t.runs, run_auc(t.runs, t.evals, t.scale))[0],
    }
    configs = seed_matrix(t.runs, "seed")[1]
    d = int(np.searchsorted(configs, default))
    others = np.flatnonzero(configs != default)
    if halving.is_halving(t):
        stop = t.runs.groupby("config", sort=True)["stopped_at"].max().to_numpy()
        others = others[stop[others] == stop[d]]
    out = pd.DataFrame({"config": configs[others]})
    for m in METRICS:
        cols = paired_columns(mats[m][others], mats[m][d], fdr)
        out[[f"{m}_{k}" for k in cols]] = pd.DataFrame(cols)
        out[f"{m}_verdict"] = [
            verdict_word(lo, hi, c)
            for lo, hi, c in zip(*(cols[k] for k in ("ci_low", "ci_high", "clear")), strict=True)
        ]
    key = [-np.nan_to_num(out[f"{m}_p"].to_numpy(np.float64), nan=np.inf) for m in reversed(METRICS)]
    return out.iloc[np.lexsort((out["config"].to_numpy(), *key))].reset_index(drop=True)
