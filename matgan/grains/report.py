"""What people look at: overlays, grain-size histograms, CSV tables and the run's HDF5 file."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matgan.grains.measure import GRAIN_COLUMNS

SUMMARY_COLUMNS = ("image", "height", "width", "n_grains", "n_inside", "n_edge", "n_jeffries", "mean_area_px",
                   "median_area_px", "mean_diameter_px", "median_diameter_px", "N_A", "mean_intercept_px")
ASTM_COLUMNS = ("pixel_size_um", "mean_intercept_um", "G_planimetric", "G_intercept", "G_intercept_ci95")


def overlay(image: np.ndarray, grain_labels: np.ndarray, ids: bool = True, max_ids: int = 2000) -> np.ndarray:
    """RGB uint8 (H, W, 3): the image in grey with grain outlines in red and grain ids in yellow.

    Parameters
    ----------
    image : (H, W) or (H, W, 3), uint8/uint16 or float in [0, 1].
    grain_labels : (H, W) int, 0 on boundaries.
    ids : write each grain's id at its centroid (skipped above `max_ids` grains or on small grains).
    """
    import cv2

    from matgan.io import to_gray_float

    gray = to_gray_float(image) if image.dtype in (np.uint8, np.uint16) or image.ndim == 3 else np.clip(image, 0, 1)
    base = np.round(gray * 255).astype(np.uint8)
    rgb = np.repeat(base[..., None], 3, axis=2)
    rgb[grain_labels == 0] = (230, 30, 30)
    n = int(grain_labels.max())
    if ids and 0 < n <= max_ids:
        from scipy import ndimage

        index = np.arange(1, n + 1)
        areas = ndimage.sum_labels(np.ones_like(grain_labels, dtype=np.float32), grain_labels, index)
        centres = ndimage.center_of_mass(np.ones_like(grain_labels, dtype=np.float32), grain_labels, index)
        scale = 0.3 if max(grain_labels.shape) < 1024 else 0.5
        for grain, area, (cy, cx) in zip(index, areas, centres):
            if area >= 150 and np.isfinite(cx):
                cv2.putText(rgb, str(grain), (int(cx) - 6, int(cy) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                            (255, 220, 0), 1, cv2.LINE_AA)
    return rgb


def histogram_png(path: str | os.PathLike, diameters: np.ndarray, unit: str = "px", overwrite: bool = True,
                  title: str = "grain size") -> Path:
    """A histogram of equivalent grain diameters as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matgan.io import atomic_path

    fig, ax = plt.subplots(figsize=(5, 3.2))
    values = np.asarray(diameters, dtype=float)
    values = values[np.isfinite(values)]
    ax.hist(values, bins=min(40, max(5, len(values) // 5)) if len(values) else 5, color="#4472c4")
    if len(values):
        ax.axvline(values.mean(), color="k", lw=1, ls="--", label=f"mean {values.mean():.1f} {unit}")
        ax.legend(frameon=False)
    ax.set_xlabel(f"equivalent circle diameter ({unit})")
    ax.set_ylabel("grains")
    ax.set_title(f"{title} ({len(values)} grains)")
    fig.tight_layout()
    with atomic_path(path, overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in columns})
    return buffer.getvalue()


def _fmt(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


def grain_rows(image_name: str, table: dict[str, np.ndarray]) -> list[dict]:
    """Per-grain table (from `measure.grain_table`) as CSV rows tagged with the image name."""
    keys = list(table)
    return [dict(image=image_name, **{k: table[k][i] for k in keys}) for i in range(len(table["grain"]))]


def grain_columns(pixel_size_um: float | None) -> tuple[str, ...]:
    return ("image",) + GRAIN_COLUMNS + (("area_um2", "diameter_um") if pixel_size_um else ())


def summary_columns(pixel_size_um: float | None) -> tuple[str, ...]:
    return SUMMARY_COLUMNS + (ASTM_COLUMNS if pixel_size_um else ())


def write_run_outputs(out_dir: Path, grains: list[dict], summaries: list[dict], pixel_size_um: float | None,
                      overwrite: bool, results_h5: bool = False, attrs: dict | None = None) -> list[Path]:
    """grains.csv, summary.csv, histogram.png and (optionally) results.h5 in `out_dir`."""
    from matgan.io import write_hdf5, write_text

    written = [write_text(out_dir / "grains.csv", csv_text(grains, grain_columns(pixel_size_um)), overwrite),
               write_text(out_dir / "summary.csv", csv_text(summaries, summary_columns(pixel_size_um)), overwrite)]
    use_um = bool(pixel_size_um)
    diameters = np.array([g["diameter_um" if use_um else "diameter_px"] for g in grains], dtype=float)
    written.append(histogram_png(out_dir / "histogram.png", diameters, "um" if use_um else "px", overwrite))
    if results_h5:
        arrays: dict[str, np.ndarray] = {}
        for prefix, rows, columns in (("grains", grains, grain_columns(pixel_size_um)),
                                      ("summary", summaries, summary_columns(pixel_size_um))):
            for column in columns:
                values = [r.get(column, np.nan) for r in rows]
                arrays[f"{prefix}_{column}"] = np.array(values) if column == "image" else np.array(values, float)
        written.append(write_hdf5(out_dir / "results.h5", arrays, attrs or {}, overwrite=overwrite))
    return written


def run_output_names(results_h5: bool) -> list[str]:
    return ["grains.csv", "summary.csv", "histogram.png"] + (["results.h5"] if results_h5 else [])
