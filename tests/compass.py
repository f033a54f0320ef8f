"""The issue's compass figures ("bad inputs tried: N", ...), collected by the tests that earn them and
printed at the end of the run by `pytest_terminal_summary` in tests/conftest.py, so `make test`
shows them without -s.

Tests import it as `tests.compass` (one module name, so the hook sees every figure).
"""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
DETAILS: dict[str, list[str]] = {}

# Printed in this order; any other figure follows.
ORDER = ("crash points survived", "bad inputs tried", "injected payloads blocked", "fault modes survived")


def record(figure: str, n: int = 1, detail: str | None = None) -> None:
    """Add `n` to a figure; `detail` (optional) is shown after it, e.g. which kinds were tried."""
    FIGURES[figure] += n
    if detail:
        DETAILS.setdefault(figure, []).append(detail)


def summary_lines(figures: Counter[str], details: dict[str, list[str]]) -> list[str]:
    names = [f for f in ORDER if f in figures] + sorted(f for f in figures if f not in ORDER)
    lines = []
    for name in names:
        extra = details.get(name, [])
        lines.append(f"{name}: {figures[name]}" + (f"  ({'; '.join(extra)})" if extra else ""))
    return lines
