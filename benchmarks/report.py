"""What every benchmark's report shares: the markdown table, the load average, the peers' pythons."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

from benchmarks.peers import venvs

__all__ = ["table", "load_average", "pythons"]


def table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> str:
    """A markdown table of ``rows`` under ``headers``, columns padded to their widest cell."""
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
    return "\n".join(out)


def load_average() -> str:
    """The 1, 5 and 15-minute load averages ("?" where the platform has none)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def pythons(venv_of: Mapping[str, Optional[str]]) -> dict[str, Union[Path, str]]:
    """The python each implementation runs with: this one for None, else its peer venv's
    (built on first use); a venv that cannot be built gives the reason, as text, instead."""
    out: dict[str, Union[Path, str]] = {}
    for name, venv in venv_of.items():
        try:
            out[name] = Path(sys.executable) if venv is None else venvs.ensure(venv)
        except Exception as exc:  # noqa: BLE001 - peer not available
            out[name] = f"cannot build its venv: {exc}"
    return out
