"""The pieces of the pages ``report``, ``compare`` and ``study`` write: the page, its style, embedded figures, the
manifest table, statistics with their intervals as text, and where a page over several run folders goes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analysis.figures.style import FigureFile
from analysis.tables.axes import describe
from analysis.tables.format import manifest_number
from common.files import to_json

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; position: sticky; top: 0; } td.l, th.l { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.box { background: #f6f8fa; padding: 0.8em 1em; border-radius: 6px; }
pre { font-size: 0.8em; overflow-x: auto; background: #f6f8fa; padding: 1em; }
"""


def document(title: str, body: str) -> str:
    """A whole HTML page titled ``title`` (escaped here) with ``body`` (HTML) and the shared ``CSS``."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def ci_text(row: Mapping[str, Any], m: str, fmt: str = ".1f", percent: bool = False) -> str:
    """Statistic ``m`` of a summary row with its interval: ``point [low, high]`` (``point [low–high%]`` as a
    percentage), ``point (no CI: 1 seed)`` without an interval, ``–`` where the statistic is undefined."""
    p, lo, hi = (float(row[k]) for k in (m, f"{m}_ci_low", f"{m}_ci_high"))
    f = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:{fmt}}")
    if not np.isfinite(p):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{f(p)} (no CI: 1 seed)"
    return f"{f(p)} [{f(lo)}–{f(hi)}]" if percent else f"{f(p)} [{f(lo)}, {f(hi)}]"


def manifest_html(m: Mapping[str, Any]) -> str:
    """The manifest's essentials as a table, then the full manifest in a collapsed block."""
    fields = [
        ("grid", m.get("grid")),
        ("description", m.get("description")),
        ("axes", _join(m.get("axes")) or "none (seeds only)"),
        ("search", describe(m)[0]),
        ("space", describe(m)[1]),
        ("seeds per config", m.get("n_seeds")),
        ("env steps per run", f"{m['total_steps']:,}" if isinstance(m.get("total_steps"), int) else None),
        ("devices", _join(m.get("devices")) or None),
        ("CPU", _cpu(m.get("cpu"))),
        ("processes", m.get("num_processes")),
        ("compile time", _seconds(m.get("compile_seconds"))),
        ("run time", _seconds(m.get("run_seconds"))),
        ("throughput", _rate(m.get("env_steps_per_second"))),
    ]
    for key in ("git_commit", "git", "commit", "created", "run_id"):
        if m.get(key) is not None and not isinstance(m.get(key), dict | list):
            fields.append((key.replace("_", " "), m.get(key)))
    rows = "".join(
        f'<tr><th class="l">{html.escape(k)}</th><td class="l">{html.escape(str(v))}</td></tr>'
        for k, v in fields
        if v is not None and v != ""
    )
    versions = m.get("versions") if isinstance(m.get("versions"), dict) else {}
    vrows = "".join(
        f'<tr><th class="l">{html.escape(str(k))}</th><td class="l">{html.escape(str(v))}</td></tr>'
        for k, v in versions.items()
    )
    out = f"<table>{rows}</table>"
    if vrows:
        out += f"<h3>Versions</h3><table>{vrows}</table>"
    full = html.escape(to_json(m, indent=2))
    return out + f"<details><summary>Full manifest</summary><pre>{full}</pre></details>"


def _cpu(v: Any) -> str | None:
    """``model (avx512f)``: the CPU and its widest vector extension, which rows depend on in their last bits."""
    if not isinstance(v, dict):
        return None
    simd = [f for f in v.get("simd", []) if isinstance(f, str)]
    widest = next((f for f in ("avx512f", "avx2", "avx") if f in simd), None)
    return f"{v.get('model', '?')}" + (f" ({widest})" if widest else "")


def _join(v: Any) -> str | None:
    """A list as ``a, b, c``; anything else as text (``None`` stays ``None``)."""
    return ", ".join(map(str, v)) if isinstance(v, list) else None if v is None else str(v)


def _seconds(v: Any) -> str | None:
    """A manifest's duration as ``1,234.5 s``; ``None`` if it is not a number."""
    v = manifest_number(v)
    return None if v is None else f"{v:,.1f} s"


def _rate(v: Any) -> str | None:
    """A manifest's throughput in env steps per second; ``None`` if it is not a number."""
    v = manifest_number(v)
    return None if v is None else f"{v:,.0f} env steps/s (all runs together)"


def img_html(f: FigureFile) -> str:
    """The figure embedded in the page (base64 PNG), with its caption and file name."""
    data = base64.b64encode(f.path.read_bytes()).decode("ascii")
    where = f.path.name if f.path.parent.name == "figures" else f"{f.path.parent.name}/{f.path.name}"
    return (
        f'<figure><img alt="{html.escape(f.path.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(f.caption)} <code>figures/{html.escape(where)}</code></figcaption>"
        "</figure>"
    )


def stamped_out_dir(kind: str, run_dirs: Sequence[Path], root: str | os.PathLike = "results") -> Path:
    """``<root>/<kind>/<UTC time>-<short hash of the run folders>``: the default folder of a page over several run
    folders (``compare``, ``study``)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha1("\n".join(str(p) for p in run_dirs).encode()).hexdigest()[:8]
    return Path(root) / kind / f"{stamp}-{digest}"
