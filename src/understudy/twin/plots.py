"""The twin's plots: calibration, risk–coverage and daily patterns, as PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no screen is needed or wanted

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from understudy.twin.calibration import expected_calibration_error, reliability_bins

__all__ = ["activity_heatmap", "reliability_diagram", "risk_coverage_curve"]


def reliability_diagram(
    probabilities: NDArray[np.float64], labels: NDArray[np.bool_], path: Path, title: str
) -> Path:
    """Plot predicted against observed reply rates in 15 bins, sized by count."""
    rows = reliability_bins(probabilities, labels, 15)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    if rows:
        predicted, observed, counts = zip(*rows, strict=True)
        sizes = 20 + 200 * np.asarray(counts) / max(counts)
        axis.scatter(predicted, observed, s=sizes, color="tab:blue", label="bins (size = messages)")
        axis.plot(predicted, observed, color="tab:blue")
    ece = expected_calibration_error(probabilities, labels) if len(labels) else 0.0
    axis.set(xlabel="predicted probability of a reply", ylabel="observed share replied")
    axis.set(xlim=(0, 1), ylim=(0, 1), title=f"{title}\nECE {ece:.3f} over {len(labels)} messages")
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def risk_coverage_curve(
    confidence: NDArray[np.float64],
    correct: NDArray[np.bool_],
    path: Path,
    title: str,
    threshold: float | None = None,
) -> Path:
    """Plot the error rate among the messages the twin would file alone, by coverage."""
    order = np.argsort(-np.asarray(confidence), kind="stable")
    hits = np.asarray(correct, dtype=float)[order]
    n = np.arange(1, len(hits) + 1)
    figure, axis = plt.subplots(figsize=(6, 4))
    if len(hits):
        axis.plot(
            n / len(hits), 1 - np.cumsum(hits) / n, color="tab:red", label="risk (1 − precision)"
        )
        axis.axhline(0.05, linestyle="--", color="grey", label="5% risk (95% precision)")
    if threshold is not None and len(hits):
        share = float(np.mean(np.asarray(confidence) >= threshold))
        axis.axvline(share, color="tab:green", label=f"certified threshold {threshold:.2f}")
    axis.set(xlabel="coverage (share of filed messages acted on)", ylabel="risk", title=title)
    axis.set(xlim=(0, 1), ylim=(0, max(0.3, float(1 - hits.mean()) if len(hits) else 0.3)))
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def activity_heatmap(grid: Sequence[Sequence[float]], path: Path, title: str) -> Path:
    """Plot a 7 × 24 grid (weekday × hour) of the person's activity."""
    figure, axis = plt.subplots(figsize=(8, 3.2))
    image = axis.imshow(np.asarray(grid, dtype=float), aspect="auto", cmap="viridis")
    axis.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    axis.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axis.set(xlabel="hour (local)", title=title)
    figure.colorbar(image, ax=axis, label="messages sent")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
