"""Tests of data/generate_sample.py and of the committed data/sample.csv."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample.csv"


def test_generator_is_deterministic_and_matches_the_committed_sample(tmp_path: Path, run_generator) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert run_generator("--output", str(first)).returncode == 0
    assert run_generator("--output", str(second)).returncode == 0

    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == SAMPLE_CSV.read_bytes(), "regenerate with data/generate_sample.py"


def test_another_seed_gives_another_corpus(tmp_path: Path, run_generator) -> None:
    output = tmp_path / "other.csv"
    assert run_generator("--output", str(output), "--seed", "1", "--rows-per-label", "10").returncode == 0
    assert output.read_bytes() != SAMPLE_CSV.read_bytes()
    assert len(output.read_text().splitlines()) == 51


def test_sample_is_small_balanced_and_labelled() -> None:
    assert SAMPLE_CSV.stat().st_size < 300 * 1024
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert list(rows[0]) == ["text", "label"]
    counts = Counter(row["label"] for row in rows)
    assert len(rows) == 600 and len(counts) == 5
    assert all(100 <= count <= 140 for count in counts.values()), counts
    assert max(counts.values()) / len(rows) < 0.25  # majority-class baseline stays near 0.2
    assert all(row["text"].strip() for row in rows)


def test_too_few_rows_per_label_is_rejected(tmp_path: Path, run_generator) -> None:
    result = run_generator("--output", str(tmp_path / "x.csv"), "--rows-per-label", "1")
    assert result.returncode == 1
    assert result.stderr == "Cannot generate: --rows-per-label must be at least 2, got 1.\n"
    assert not (tmp_path / "x.csv").exists()
