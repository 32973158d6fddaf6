#!/usr/bin/env python3
"""Preprocess step (SageMaker Processing): clean labelled text and split it.

Reads every ``*.csv`` in ``--input-dir``, keeps the text and label columns,
lowercases the text and collapses whitespace, drops rows with an empty text or
label and labels with fewer than two examples, then writes a stratified split
as ``train.csv`` and ``test.csv`` with the columns ``text,label``.

Arguments (defaults are SageMaker Processing container paths):
    --input-dir     /opt/ml/processing/input/data
    --train-dir     /opt/ml/processing/output/train
    --test-dir      /opt/ml/processing/output/test
    --dataset-dir   /opt/ml/processing/output/dataset  (dataset.json: the input's SHA-256 and ETag)
    --data-version  latest  (else the input's expected SHA-256 or ETag: a mismatch fails)
    --text-column   text
    --label-column  label
    --test-size     0.2   (fraction of rows, between 0 and 1)
    --seed          42
    --message-file /opt/ml/output/message  (the failure reason, written on error)

Example:
    python3 src/preprocess.py --input-dir data --train-dir /tmp/run/train --test-dir /tmp/run/test
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from common import (
    LABEL_COLUMN,
    TEXT_COLUMN,
    ArgumentParser,
    StepError,
    find_csv_files,
    normalise_text,
    read_csv,
    add_message_file_argument,
    run_processing_step,
    write_json,
)

MIN_EXAMPLES_PER_LABEL = 2
DATASET_FILE = "dataset.json"
LATEST = "latest"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate the command line; raise :class:`StepError` on bad input."""
    parser = ArgumentParser(prog="preprocess.py", description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--train-dir", type=Path, default=Path("/opt/ml/processing/output/train"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/output/test"))
    parser.add_argument("--dataset-dir", type=Path, default=Path("/opt/ml/processing/output/dataset"))
    parser.add_argument("--data-version", default=LATEST)
    parser.add_argument("--text-column", default=TEXT_COLUMN)
    parser.add_argument("--label-column", default=LABEL_COLUMN)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    add_message_file_argument(parser)
    args = parser.parse_args(argv)
    if not 0.0 < args.test_size < 1.0:
        raise StepError(f"Invalid --test-size \"{args.test_size}\": use a fraction between 0 and 1.")
    if args.seed < 0:
        raise StepError(f"Invalid --seed \"{args.seed}\": use a non-negative integer.")
    return args


def load(input_dir: Path, text_column: str, label_column: str) -> pd.DataFrame:
    """Read every CSV of ``input_dir`` into one frame with columns ``text,label``."""
    hint = "Name the columns with --text-column and --label-column."
    frames = [read_csv(path, [text_column, label_column], hint) for path in find_csv_files(input_dir)]
    frame = pd.concat(frames, ignore_index=True)
    return frame.rename(columns={text_column: TEXT_COLUMN, label_column: LABEL_COLUMN})


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise text, strip labels, drop empty rows and labels with fewer than
    ``MIN_EXAMPLES_PER_LABEL`` examples."""
    frame = frame.dropna(subset=[TEXT_COLUMN, LABEL_COLUMN])
    frame = pd.DataFrame({
        TEXT_COLUMN: frame[TEXT_COLUMN].map(normalise_text),
        LABEL_COLUMN: frame[LABEL_COLUMN].str.strip(),
    })
    frame = frame[(frame[TEXT_COLUMN] != "") & (frame[LABEL_COLUMN] != "")]
    counts = frame[LABEL_COLUMN].value_counts()
    keep = counts[counts >= MIN_EXAMPLES_PER_LABEL].index
    return frame[frame[LABEL_COLUMN].isin(keep)].reset_index(drop=True)


def split(frame: pd.DataFrame, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into train and test parts, stratified by label."""
    labels = frame[LABEL_COLUMN].nunique()
    if labels < 2:
        raise StepError(f"Cannot split: found {labels} label(s) with at least "
                        f"{MIN_EXAMPLES_PER_LABEL} examples, need 2 or more.")
    try:
        train, test = train_test_split(frame, test_size=test_size, random_state=seed,
                                       stratify=frame[LABEL_COLUMN])
    except ValueError as error:
        raise StepError(f"Cannot split {len(frame)} rows with --test-size {test_size}: {error}") from error
    return train.reset_index(drop=True), test.reset_index(drop=True)


def write_csv(frame: pd.DataFrame, directory: Path, name: str) -> Path:
    """Write ``frame`` as ``directory/name`` with columns ``text,label``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    frame.to_csv(path, columns=[TEXT_COLUMN, LABEL_COLUMN], index=False, lineterminator="\n")
    return path


def dataset_version(files: Sequence[Path]) -> dict[str, Any]:
    """Identify the input data: each file's SHA-256 and MD5 (an S3 object's ETag when it was
    uploaded in one part, as ``deno task pipeline upload-data`` does), and for the whole input
    the SHA-256 of one file, or of the sorted ``name sha256`` lines of several, and the ETag of
    one file (``"<n> files"`` for several)."""
    entries = []
    for path in sorted(files, key=lambda path: (path.name, str(path))):
        data = path.read_bytes()
        entries.append({"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                        "etag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'})
    if len(entries) == 1:
        sha256, etag = entries[0]["sha256"], entries[0]["etag"]
    else:
        lines = "".join(f"{e['name']} {e['sha256']}\n" for e in entries)
        sha256, etag = hashlib.sha256(lines.encode()).hexdigest(), f"{len(entries)} files"
    return {"sha256": sha256, "etag": etag, "files": entries}


def check_version(version: dict[str, Any], requested: str) -> dict[str, Any]:
    """Return ``version`` with the ``requested`` data version recorded; raise
    :class:`StepError` unless ``requested`` is ``latest``, the data's SHA-256 or its ETag."""
    if requested not in (LATEST, version["sha256"], version["etag"].strip('"')):
        raise StepError(f"The input data is version {version['sha256']} (ETag {version['etag']}), not "
                        f"\"{requested}\" as this run's InputDataVersion says: it changed after the run "
                        f"was started. Start the pipeline again.")
    return {**version, "requested": requested}


def run(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv``, then read, clean, split and write the data."""
    args = parse_args(argv)
    raw = load(args.input_dir, args.text_column, args.label_column)
    version = check_version(dataset_version(find_csv_files(args.input_dir)), args.data_version)
    write_json(args.dataset_dir / DATASET_FILE, version)
    data = clean(raw)
    train, test = split(data, args.test_size, args.seed)
    train_path = write_csv(train, args.train_dir, "train.csv")
    test_path = write_csv(test, args.test_dir, "test.csv")
    print(f"Read {len(raw)} rows, kept {len(data)} with {data[LABEL_COLUMN].nunique()} labels; "
          f"wrote {len(train)} to {train_path} and {len(test)} to {test_path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the preprocess step and return the exit code; ``argv`` defaults to ``sys.argv[1:]``."""
    return run_processing_step("preprocess", run, argv)


if __name__ == "__main__":
    sys.exit(main())
