"""The ablation study of named variants (``python -m analysis study``): the study's per-iteration metric, the table
against the baselines, the claims' verdicts, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.pages import study as page
from analysis.summaries import study
from analysis.tables.read import RunDirError
from analysis.tables.run import load, write_tables

VARIANTS = ("DQN", "DQN + PER", "Rainbow", "Rainbow - PER")
SEEDS = 8
STEPS = 5_000


def _sweep(tmp_path, env="CartPole-v0", name="g", skills=(0.3, 0.9, 0.6, 0.6), axes=("variant",)):
    """A run folder of made-up episodes: variant v's runs finish episodes of return ``20 + 150 * skill`` in the
    second half (20 before), each seed a little different; returns the folder."""
    rng = np.random.default_rng(1)
    rows, ep = [], {k: [] for k in ("run", "episode", "episode_return", "episode_length", "end_step")}
    for c, (variant, skill) in enumerate(zip(VARIANTS, skills, strict=True)):
        for s in range(SEEDS):
            run = len(rows)
            rows.append({"config": c, "seed": s, "variant": variant, "env": env, "total_steps": STEPS, "lr": 1e-3})
            step, k = 0, 0
            while True:
                ret = 20.0 if step < STEPS // 2 else 20.0 + 150.0 * skill + rng.normal(0, 5)
                length = int(max(ret, 5))
                if step + length > STEPS:
                    break
                step += length
                for key, v in zip(ep, (run, k, ret, length, step), strict=True):
                    ep[key].append(v)
                k += 1
    runs = pd.DataFrame(rows)
    evals = {"run": np.arange(len(runs)), "step": np.full(len(runs), STEPS), "eval_return": np.full(len(runs), 100.0)}
    manifest = {
        "grid": name,
        "axes": list(axes),
        "tasks": {env: {"low": 0.0, "high": 200.0, "solved": 195.0, "random": 22.0}},
    }
    folder = tmp_path / name
    folder.mkdir()
    episodes = {k: np.asarray(v) for k, v in ep.items()}
    write_tables(folder, runs=runs, axes=list(axes), episodes=episodes, evals=evals, manifest=manifest)
    return folder


def test_an_iterations_score_is_the_mean_of_the_episodes_ending_in_it(tmp_path):
    t = load(_sweep(tmp_path))
    scores, configs = study.iteration_returns(t, 1_000)
    assert scores.shape == (4, SEEDS, 5) and list(configs) == [0, 1, 2, 3]
    ep = t.episodes
    for c, s, it in ((0, 0, 0), (1, 3, 4), (2, 7, 2)):
        mine = ep[(ep["config"] == c) & (ep["seed"] == s)]
        ending = mine[(mine["end_step"] > it * 1_000) & (mine["end_step"] <= (it + 1) * 1_000)]
        if len(ending):
            assert scores[c, s, it] == pytest.approx(ending["episode_return"].mean())
        else:  # none ended in it: the previous iteration's carries on
            assert scores[c, s, it] == scores[c, s, it - 1]


def test_the_table_against_each_baseline(tmp_path):
    t = load(_sweep(tmp_path))
    table = study.study_table(t, ["DQN", "Rainbow"])
    assert list(table["variant"]) == list(VARIANTS)
    by = table.set_index("variant")
    assert np.isnan(by.loc["DQN", "p_DQN"]) and by.loc["DQN", "p_DQN_verdict"] == ""
    assert by.loc["DQN + PER", "p_DQN"] == 1.0 and by.loc["DQN + PER", "p_DQN_verdict"] == "better"
    assert by.loc["DQN", "p_Rainbow"] == 0.0 and by.loc["DQN", "p_Rainbow_verdict"] == "worse"
    # Rainbow - PER and Rainbow share a skill: neither is clearly better
    assert by.loc["Rainbow - PER", "p_Rainbow_verdict"] == "unclear"
    finals = study.final_scores(t)
    assert by.loc["DQN + PER", "final_mean"] == pytest.approx(np.mean(finals["DQN + PER"]))
    assert by.loc["DQN + PER", "final_mean_ci_low"] < by.loc["DQN + PER", "final_mean"]
    assert by.loc["DQN", "final_eval_iqm"] == pytest.approx(100.0)


def test_claims_say_reproduced_contradicted_or_how_many_seeds(tmp_path):
    rng = np.random.default_rng(0)
    low, high = rng.normal(-400, 20, 10), rng.normal(-120, 20, 10)
    claim = page.Claim("MountainCar-v0", "DQN + PER", "DQN", True, "PER helps")
    assert "**reproduced**" in page.claim_sentence(claim, {"DQN + PER": high, "DQN": low})
    assert "**contradicted**" in page.claim_sentence(claim, {"DQN + PER": low, "DQN": high})
    close = page.claim_sentence(claim, {"DQN + PER": low + rng.normal(3, 20, 10), "DQN": low})
    assert "**not separable** at 10 seeds" in close and ("seeds would separate" in close or "no seed count" in close)
    assert "not tested" in page.claim_sentence(claim, {"DQN": low})


def test_the_study_command_writes_tables_figure_and_page(tmp_path, capsys):
    a = _sweep(tmp_path, env="Acrobot-v1", name="acrobot")
    b = _sweep(tmp_path, env="CartPole-v0", name="cartpole")
    out = tmp_path / "out"
    assert main(["study", str(a), str(b), "--against", "DQN", "Rainbow", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "study.md")
    text = (out / "study.md").read_text()
    assert "## Acrobot-v1" in text and "## CartPole-v0" in text and "| DQN + PER |" in text
    assert "## The study's claims" in text and "DQN + C51" in text  # an Acrobot claim, its variant missing here
    table = pd.read_parquet(out / "study.parquet")
    assert list(table["task"].unique()) == ["Acrobot-v1", "CartPole-v0"] and len(table) == 8
    assert (out / "figures" / "study.png").stat().st_size > 10_000


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    good = _sweep(tmp_path, name="good")
    gridded = _sweep(tmp_path, name="gridded", axes=("variant", "lr"))
    twin = _sweep(tmp_path, name="twin")
    for args, fact in (
        ([str(good), "--against", "PPO"], "no variant 'PPO'"),
        ([str(gridded)], "not a sweep of named variants alone"),
        ([str(good), str(twin)], "both of CartPole-v0"),
        ([str(tmp_path / "nowhere")], "nowhere"),
    ):
        assert main(["study", *args, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and fact in err, err
    assert not (tmp_path / "o").exists()
    json.loads((good / "manifest.json").read_text())  # the run folders are left as they were


def test_a_study_needs_one_folder():
    with pytest.raises(RunDirError, match="at least one"):
        page.study([])
