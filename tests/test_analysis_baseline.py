"""``analysis.summaries.baseline`` and the report's "Against the defaults" section: each config against the
default config."""

import re

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.stats.improvement import benjamini_hochberg, improvement
from analysis.stats.summary import run_auc, seed_matrix
from analysis.summaries import baseline

N_SEEDS = 12
DEFAULTS = {"lr": 1e-3, "double_q": False, "hidden_sizes": "64x64", "max_grad_norm": "inf"}
# Config -> (lr, double_q, each seed's return at steps 1,000 and 2,000). Config 1 is at the defaults; config 0
# learns as the defaults do (a tie), config 2 learns faster and ends higher (clearly better), config 3 worse.
RNG = np.random.default_rng(0)
BASE = RNG.uniform(100, 300, N_SEEDS)
CONFIGS = {
    0: (1e-3, True, np.stack([BASE / 2, BASE], axis=1)),
    1: (1e-3, False, np.stack([BASE / 2, BASE], axis=1)),
    2: (3e-3, False, np.stack([BASE + 150, np.full(N_SEEDS, 500.0)], axis=1)),
    3: (3e-3, True, np.stack([BASE / 4, BASE / 3], axis=1)),
}


def ablation(defaults=DEFAULTS, configs=CONFIGS, stopped_at=None):
    """Keyword arguments for ``write_tables``: ``configs`` x ``N_SEEDS`` seeds, two evaluations per run."""
    rows = [
        {"config": c, "seed": s, "lr": lr, "double_q": dq, "hidden_sizes": "64x64", "max_grad_norm": np.inf}
        for c, (lr, dq, _) in configs.items()
        for s in range(N_SEEDS)
    ]
    runs = pd.DataFrame(rows).astype({"lr": np.float32})  # the default must match through float32
    runs["total_steps"], runs["diverged"] = 2000, False
    if stopped_at is not None:
        runs["stopped_at"] = runs["config"].map(stopped_at)
    returns = np.concatenate([r for *_, r in configs.values()])  # [runs, 2] in row order
    evals = {
        "run": np.repeat(np.arange(len(runs)), 2),
        "step": np.tile([1000, 2000], len(runs)),
        "eval_return": returns.astype(np.float32).ravel(),
    }
    episodes = {k: np.zeros(0, np.int64) for k in ("run", "episode", "episode_length", "end_step")}
    episodes["episode_return"] = np.zeros(0, np.float32)
    manifest = {"grid": "ablation", "axes": ["lr", "double_q"], "n_seeds": N_SEEDS, "total_steps": 2000}
    if defaults is not None:
        manifest["defaults"] = defaults
    return {"runs": runs, "axes": ["lr", "double_q"], "episodes": episodes, "evals": evals, "manifest": manifest}


def section_rows(page: str) -> dict[str, list[str]]:
    """``{config label: its cells}`` of the "Against the defaults" table of a report page."""
    part = page.split("<h2>Against the defaults</h2>", 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(<td>.*?)</tr>", part)]
    return {r[0]: r[1:] for r in rows}


def test_section_numbers_are_improvement_intervals_paired_by_seed(tmp_path):
    analysis.write_tables(tmp_path, **ablation())
    page = analysis.report(tmp_path).read_text()
    t = analysis.load(tmp_path)
    assert baseline.default_config(t) == 1
    final, configs = seed_matrix(t.runs, "final_eval_return")
    auc, _ = seed_matrix(t.runs, run_auc(t.runs, t.evals))
    rows = section_rows(page)
    labels = {0: "double_q=on", 2: "lr=0.003", 3: "lr=0.003, double_q=on"}  # what each changes
    assert baseline.changes(t) == {**labels, 1: "the defaults"}
    assert list(rows) == [labels[2], labels[0], labels[3]]  # by P on the final return, highest first
    expect = {c: [] for c in (0, 2, 3)}
    for mat in (final, auc):  # each measure's verdicts: Benjamini-Hochberg over its three comparisons
        found = improvement(mat[[0, 2, 3]], mat[1])
        clear = benjamini_hochberg(found.pvalue)
        for i, c in enumerate((0, 2, 3)):
            p, lo, hi = float(found.point[i]), float(found.low[i]), float(found.high[i])
            expect[c] += [f"{p:.2f} [{lo:.2f}, {hi:.2f}]", baseline.verdict_word(lo, hi, bool(clear[i]))]
    for c in (0, 2, 3):
        assert rows[labels[c]][1:] == expect[c]
    assert expect[2][1] == expect[2][3] == "better" and expect[3][1] == expect[3][3] == "worse"
    assert [c[:5] for c in expect[0][::2]] == ["0.50 ", "0.50 "] and expect[0][1::2] == ["unclear", "unclear"]
    assert "<b>lr=0.001, double_q=off</b> (every swept field at its default)" in page
    assert "<b>Clearly better</b> than the defaults (P above 0.5): on the final return, " + labels[2] in page
    assert f"<b>Clearly worse</b> than the defaults (P below 0.5): on the final return, {labels[3]}" in page


def test_fields_the_sweep_fixes_away_from_their_defaults_are_named(tmp_path):
    # The default config is the swept fields' defaults only: a grid's [config] (or a --set) applies to it too.
    kw = ablation(defaults={**DEFAULTS, "gamma": 0.99, "n_step": 1, "batch_size": 64, "total_steps": 2000})
    kw["manifest"]["traced_fixed"] = {"gamma": 0.9, "lr": 1e-3}  # lr is an axis: never named
    groups = [{"n_step": 3, "batch_size": 64, "total_steps": 2000, "runs": 24}, {"n_step": 3, "batch_size": 32}]
    kw["manifest"]["static_groups"] = groups  # batch_size differs between groups: not a fixed field
    analysis.write_tables(tmp_path, **kw)
    t = analysis.load(tmp_path)
    assert baseline.fixed_changes(t) == {"gamma": 0.9, "n_step": 3}
    page = analysis.report(tmp_path).read_text()
    assert "(every swept field at its default; like every config of this sweep it has 2 other fields fixed" in page
    assert "fixed away from their default: gamma=0.9, n_step=3)" in page


def test_versus_default_table(tmp_path):
    analysis.write_tables(tmp_path, **ablation())
    v = baseline.versus_default(analysis.load(tmp_path), 1)
    assert v["config"].tolist() == [2, 0, 3]
    assert v.loc[1, "final_p"] == 0.5 and v.loc[1, "auc_p"] == 0.5  # every seed ties
    assert v.loc[0, "final_p"] == 1.0 and v.loc[2, "final_p"] == 0.0


@pytest.mark.parametrize(
    "defaults, configs",
    [
        (None, CONFIGS),  # the manifest records no defaults
        ({**DEFAULTS, "lr": 5e-4}, CONFIGS),  # no config at them
        ({"lr": 1e-3}, CONFIGS),  # no default for the axis double_q
        (DEFAULTS, {1: CONFIGS[1]}),  # one config: nothing to compare it with
    ],
    ids=["no-defaults", "none-at-defaults", "axis-without-default", "single-config"],
)
def test_section_absent_without_a_default_config_or_another_config(tmp_path, defaults, configs):
    analysis.write_tables(tmp_path, **ablation(defaults, configs))
    page = analysis.report(tmp_path).read_text()
    assert "Against the defaults" not in page
    assert "<h2>Summary (best first)</h2>" in page


def test_halving_compares_only_configs_stopped_with_the_defaults(tmp_path):
    analysis.write_tables(tmp_path, **ablation(stopped_at={0: 2000, 1: 2000, 2: 2000, 3: 1000}))
    assert baseline.versus_default(analysis.load(tmp_path), 1)["config"].tolist() == [2, 0]


def test_no_config_clearly_differs(tmp_path):
    configs = {c: (lr, dq, CONFIGS[1][2]) for c, (lr, dq, _) in CONFIGS.items()}
    analysis.write_tables(tmp_path, **ablation(configs=configs))
    page = analysis.report(tmp_path).read_text()
    assert "No config is clearly better or worse than the defaults on either measure" in page
    assert {cells[2] for cells in section_rows(page).values()} == {"unclear"}


@pytest.mark.parametrize(
    "value, default, same",
    [
        (np.float32(1e-3), 1e-3, True),
        (1.0001e-3, 1e-3, False),  # a sampled value near the default is not it
        (np.inf, "inf", True),
        ("64x64", "64x64", True),
        ("128x128", "64x64", False),
        (np.bool_(False), False, True),
        (0, False, False),  # a boolean default is only met by a boolean
        (np.int64(3), 3, True),
        ("mse", 1, False),
    ],
)
def test_same_value(value, default, same):
    assert baseline.same_value(value, default) is same


def test_verdict_word():
    assert [baseline.verdict_word(lo, hi) for lo, hi in ((0.6, 0.9), (0.1, 0.4), (0.4, 0.6), (np.nan, 0.7))] == [
        "better",
        "worse",
        "unclear",
        "no CI",
    ]
