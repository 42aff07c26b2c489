"""Shared fixtures of the vibration tests: where the real CWRU data lives (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

CWRU_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "vibration"


@pytest.fixture
def cwru_dir() -> Path:
    if not (CWRU_DIR / "cwru_12k_drive_end").is_dir():
        pytest.skip(f"CWRU data not found at {CWRU_DIR}")
    return CWRU_DIR
