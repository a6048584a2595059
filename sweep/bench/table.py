"""The human-readable table of a benchmark result."""

from __future__ import annotations

from typing import Any


def format_table(r: dict[str, Any]) -> str:
    """The human-readable summary of ``run_bench``'s result."""
    s = r["config"]["static"]
    hidden = "x".join(str(h) for h in s["hidden_sizes"])
    lines = [
        f"DQN on CartPole-v1, default config: MLP {hidden}, batch {s['batch_size']}, buffer "
        f"{s['buffer_capacity']:,}, train_every {s['train_every']}; chunks of {r['chunk_steps']:,} env steps",
        f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}, {r['cpu_cores']} cores), "
        f"jax {r['jax_version']}, {r['created']}",
        "",
        f"{'runs N':>7} | {'devices':>7} | {'env steps/s':>11} | {'updates/s':>11} | {'GFLOP/s':>7} | "
        f"{'roofline':>8} | {'compile s':>9} | {'dev. KB/run':>11}",
        "-" * 94,
    ]
    for e in r["scaling"]:
        lines.append(
            f"{e['n_runs']:>7} | {e['devices']:>7} | {e['agg_steps_per_s']:>11,.0f} | {e['updates_per_s']:>11,.0f} | "
            f"{e['achieved_gflops']:>7.2f} | {e['roofline_fraction']:>7.1%} | {e['compile_s']:>9.1f} | "
            f"{e['device_bytes_per_run'] / 1024:>11,.0f}"
        )
    b = r["baselines"]
    mem = r["needed_bytes_per_run"]
    f = r["flops"]
    lines += [
        "",
        f"baselines, timed interleaved with the engine at N={r['n_runs']}:",
        f"  engine N={r['n_runs']:<4}          {r['agg_steps_per_s']:>10,.0f} env steps/s",
        *(
            [
                f"  engine, one device    {b['engine_one_device']['agg_steps_per_s']:>10,.0f} env steps/s   "
                f"one device per core / one device = {r['ratio_vs_one_device']:.2f}x"
            ]
            if r.get("ratio_vs_one_device")
            else []
        ),
        f"  sequential ({b['sequential']['n_runs']} runs)    {r['sequential_steps_per_s']:>10,.0f} env steps/s   "
        f"engine / sequential = {r['ratio_vs_sequential']:.2f}x",
        f"  host loop (gymnasium) {r['host_loop_steps_per_s']:>10,.0f} env steps/s   "
        f"engine / host loop  = {r['ratio_vs_host_loop']:.1f}x",
        "",
        f"FLOPs per env step: {r['flops_per_env_step']:,.0f} ({f['source']}: update {f['update_flops']:,.0f} + act "
        f"{f['act_flops']:,.0f}); hand count {f['hand_flops_per_env_step']:,.0f} "
        f"({r['flops_per_env_step'] / f['hand_flops_per_env_step']:.2f}x)",
        f"fp32 matmul peak (best matmul measured here): {r['peak_gflops']:.1f} GFLOP/s; at N={r['n_runs']}: "
        f"{r['achieved_gflops']:.2f} GFLOP/s "
        f"= {r['roofline_fraction']:.1%} of peak",
        f"matmul ceiling of the update's shape ({r['n_runs']} runs x [{s['batch_size']}, {s['hidden_sizes'][0]}] @ "
        f"[{s['hidden_sizes'][0]}, {s['hidden_sizes'][-1]}], nothing else): {r['gemm_ceiling_gflops']:.1f} GFLOP/s "
        f"= {r['gemm_ceiling_fraction']:.1%} of peak; the training step reaches "
        f"{r['fraction_of_gemm_ceiling']:.1%} of it",
        f"device memory per run (N={r['n_runs']}): compiled {r['device_bytes_per_run'] / 1024:,.0f} KB vs needed "
        f"{mem['total'] / 1024:,.0f} KB (buffer {mem['buffer'] / 1024:,.0f} + params x4 {mem['params_x4'] / 1024:,.0f}"
        f" + outputs {mem['outputs'] / 1024:,.0f}) = {r['memory_ratio']:.2f}x; peak RSS {r['peak_rss_mb']:,.0f} MB",
        "replay buffer add under vmap ("
        f"{r['buffer_add'][0]['n_runs']} buffers, scan of {r['buffer_add'][0]['adds']:,} adds): "
        + ", ".join(f"capacity {b['capacity']:,}: {b['us_per_add']:.2f} us" for b in r["buffer_add"])
        + f"; largest / smallest = {r['buffer_add_ratio']:.2f}x",
        f"wall time {r['wall_s']:.0f} s",
    ]
    return "\n".join(lines)
