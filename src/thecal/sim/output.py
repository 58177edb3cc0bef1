"""Write a scenario trace as CSV, Parquet or JSON, and plot it (matplotlib, Agg backend)."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from thecal.errors import InputError
from thecal.sim.scenario import COLUMNS, Trace

FORMATS = (".csv", ".parquet", ".json")


def trace_rows(trace: Trace) -> list[dict[str, object]]:
    """One mapping per sample: ``time`` (ISO 8601 with offset), columns, grade, symptoms."""
    times = trace.times()
    rows: list[dict[str, object]] = []
    for i, when in enumerate(times):
        row: dict[str, object] = {"time": when.isoformat()}
        for name in COLUMNS:
            row[name] = float(trace.columns[name][i])
        row["mas_category"] = trace.mas_category[i]
        row["symptoms"] = " ".join(trace.symptoms[i])
        rows.append(row)
    return rows


def write_trace(trace: Trace, path: str | Path) -> Path:
    """Write by extension (.csv, .parquet, .json); the file is written whole or not at all."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"cannot write {out.name!r}", where="--out",
                         fix="name a .csv, .parquet or .json file")
    rows = trace_rows(trace)
    tmp = out.with_name(out.name + ".part")
    try:
        if suffix == ".csv":
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["time"])
                writer.writeheader()
                writer.writerows(rows)
        elif suffix == ".json":
            tmp.write_text(json.dumps({"timezone": trace.timezone, "rows": rows}, indent=1),
                           encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            names = list(rows[0]) if rows else ["time"]
            table = pa.table({k: [r[k] for r in rows] for k in names})
            pq.write_table(table, tmp)
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def plot_trace(trace: Trace, path: str | Path, title: str | None = None,
               start_h: float | None = None) -> Path:
    """Dose, reservoir, spinal-fluid level, tone and the two scores on one time axis.

    The axis shows the patient's local dates; ``start_h`` (hours since the epoch) hides what
    came before it, so a story that happens months after the implant can be seen up close.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    out = Path(path)
    if out.suffix.lower() != ".png":
        raise InputError(f"cannot plot to {out.name!r}", where="--plot", fix="name a .png file")
    keep = trace.t_h >= (start_h if start_h is not None else -np.inf)
    if not keep.any():
        raise InputError("nothing to plot after the start of the plot window", where="--plot-from",
                         fix="choose a time inside the simulated period")
    zone = ZoneInfo(trace.timezone)
    when = [t.replace(tzinfo=None) for t in trace.times()]
    x = [w for w, k in zip(when, keep, strict=True) if k]
    c = {name: values[keep] for name, values in trace.columns.items()}
    fig, axes = plt.subplots(5, 1, sharex=True, figsize=(10, 11), constrained_layout=True)
    axes[0].step(x, c["csf_delivery_mcg_per_h"] * 24.0, where="post", color="tab:blue")
    axes[0].set_ylabel("to spinal fluid\n(mcg/day rate)")
    axes[1].plot(x, c["reservoir_ml"], color="tab:gray")
    axes[1].set_ylabel("reservoir (mL)")
    axes[2].plot(x, c["csf_conc_ng_per_ml"], color="tab:purple")
    axes[2].set_ylabel("spinal fluid\n(ng/mL)")
    axes[3].plot(x, c["mas"], label="Modified Ashworth", color="tab:red")
    axes[3].plot(x, c["penn_frequency"], label="Penn spasm frequency", color="tab:orange")
    axes[3].set_ylim(-0.1, 4.1)
    axes[3].set_ylabel("tone, spasms (0–4)")
    axes[3].legend(loc="upper right", fontsize=8)
    axes[4].plot(x, c["withdrawal_score"], label="withdrawal", color="tab:brown")
    axes[4].plot(x, c["overdose_score"], label="overdose", color="black")
    axes[4].set_ylim(-0.05, 1.05)
    axes[4].set_ylabel("score (0–1)")
    axes[4].legend(loc="upper right", fontsize=8)
    locator = mdates.AutoDateLocator()
    axes[4].xaxis.set_major_locator(locator)
    axes[4].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[4].set_xlabel(f"local time ({trace.timezone})")
    first = float(trace.t_h[keep][0])
    for ev in trace.events:
        if ev.t_h < first:
            continue
        at = (trace.epoch + timedelta(hours=ev.t_h)).astimezone(zone).replace(tzinfo=None)
        for ax in axes:
            ax.axvline(at, color="0.8", lw=0.8, zorder=0)
        axes[0].annotate(ev.label, (mdates.date2num(at), 1.0), xycoords=("data", "axes fraction"),
                         rotation=90, fontsize=6, va="top", ha="right", color="0.4")
    if title:
        axes[0].set_title(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
