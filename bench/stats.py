"""Percentiles and the small summaries the results are made of."""

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def in_ms(seconds: Sequence[float], points: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Percentiles and the maximum of durations given in seconds, in milliseconds."""
    summary = {f"p{q:g}": round(percentile(seconds, q) * 1000, 1) for q in points}
    summary["max"] = round(max(seconds) * 1000, 1)
    return summary


def ratio(ours: float, bare: float) -> float | None:
    return round(ours / bare, 2) if bare else None
