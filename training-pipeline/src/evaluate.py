#!/usr/bin/env python3
"""Evaluate step (SageMaker Processing): score the trained model on the test split.

Loads the model from ``--model-dir`` (``model.tar.gz`` as a training job
produces it, or an already extracted ``model.joblib``), predicts the labels of
``--test-dir/test.csv`` and writes ``--output-dir/evaluation.json``, the
pipeline's property file:

    {"metrics": {"accuracy": {"value": 0.91}, "macro_f1": {"value": 0.90}},
     "per_class": {"<label>": {"precision": .., "recall": .., "f1": .., "support": n}},
     "samples": n}

and ``model_quality.json``, the same scores in SageMaker's model-quality format
(``multiclass_classification_metrics``), which the model registry shows.

Arguments (defaults are SageMaker Processing container paths):
    --model-dir   /opt/ml/processing/model
    --test-dir    /opt/ml/processing/test
    --output-dir  /opt/ml/processing/evaluation
    --message-file /opt/ml/output/message  (the failure reason, written on error)

Example:
    python3 src/evaluate.py --model-dir /tmp/run/model --test-dir /tmp/run/test \\
        --output-dir /tmp/run/evaluation
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.pipeline import Pipeline

from common import (
    LABEL_COLUMN,
    TEXT_COLUMN,
    ArgumentParser,
    StepError,
    read_labelled_dir,
    add_message_file_argument,
    run_processing_step,
    write_json,
)

MODEL_FILE = "model.joblib"
ARCHIVE_FILE = "model.tar.gz"
MODEL_QUALITY_FILE = "model_quality.json"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; raise :class:`StepError` on bad input."""
    parser = ArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    add_message_file_argument(parser)
    return parser.parse_args(argv)


def locate_model(model_dir: Path, scratch_dir: Path) -> Path:
    """Return the path of ``model.joblib``: extracted from ``model_dir/model.tar.gz``
    into ``scratch_dir`` when the archive exists, else ``model_dir/model.joblib``."""
    archive = model_dir / ARCHIVE_FILE
    if archive.is_file():
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(scratch_dir, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            raise StepError(f"Cannot extract \"{archive}\": {error}.") from error
        extracted = scratch_dir / MODEL_FILE
        if not extracted.is_file():
            raise StepError(f"Cannot load model: \"{archive}\" holds no {MODEL_FILE} at its root.")
        return extracted
    if (model_dir / MODEL_FILE).is_file():
        return model_dir / MODEL_FILE
    raise StepError(f"Cannot load model: neither {ARCHIVE_FILE} nor {MODEL_FILE} in \"{model_dir}\".")


def load_model(path: Path) -> Pipeline:
    """Load a fitted model written by the training step.

    joblib unpickles the file: only load artifacts that this pipeline produced.
    """
    model = joblib.load(path)
    if not hasattr(model, "predict"):
        raise StepError(f"Cannot use \"{path}\": it holds a {type(model).__name__}, not a model.")
    return model


def predict(model: Pipeline, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Return the actual and the predicted labels of the ``text,label`` rows of ``frame``."""
    actual = frame[LABEL_COLUMN].astype(str).tolist()
    predicted = [str(label) for label in model.predict(frame[TEXT_COLUMN])]
    return actual, predicted


def evaluate(model: Pipeline, frame: pd.DataFrame) -> dict[str, Any]:
    """Score ``model`` on the ``text,label`` rows of ``frame`` and return the report."""
    return summarise(*predict(model, frame))


def summarise(actual: list[str], predicted: list[str]) -> dict[str, Any]:
    """The pipeline's report (its property file) of actual against predicted labels."""
    labels = sorted(set(actual) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        actual, predicted, labels=labels, zero_division=0)
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return {
        "metrics": {
            "accuracy": {"value": float(accuracy_score(actual, predicted))},
            "macro_f1": {"value": float(f1.mean())},
        },
        "per_class": per_class,
        "samples": len(actual),
    }


def model_quality(actual: list[str], predicted: list[str]) -> dict[str, Any]:
    """The same scores in SageMaker's model-quality format for multiclass classification (what
    the model registry's ``ModelMetrics.ModelQuality.Statistics`` shows in Studio): weighted
    precision, recall and F1, accuracy, and the confusion matrix as actual -> predicted -> count."""
    labels = sorted(set(actual) | set(predicted))
    precision, recall, f1, _ = precision_recall_fscore_support(
        actual, predicted, labels=labels, average="weighted", zero_division=0)
    matrix = confusion_matrix(actual, predicted, labels=labels)

    def metric(value: float) -> dict[str, Any]:
        return {"value": float(value), "standard_deviation": "NaN"}

    return {
        "multiclass_classification_metrics": {
            "accuracy": metric(accuracy_score(actual, predicted)),
            "weighted_precision": metric(precision),
            "weighted_recall": metric(recall),
            "weighted_f1": metric(f1),
            "confusion_matrix": {
                row: {column: int(matrix[i][j]) for j, column in enumerate(labels)}
                for i, row in enumerate(labels)
            },
        },
    }


def run(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv``, then load the model and test data and write the report."""
    args = parse_args(argv)
    frame = read_labelled_dir(args.test_dir, preferred="test.csv")
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        model = load_model(locate_model(args.model_dir, Path(scratch)))
    actual, predicted = predict(model, frame)
    report = summarise(actual, predicted)
    path = args.output_dir / "evaluation.json"
    write_json(path, report)
    write_json(args.output_dir / MODEL_QUALITY_FILE, model_quality(actual, predicted))
    metrics = report["metrics"]
    print(f"accuracy={metrics['accuracy']['value']:.4f} macro_f1={metrics['macro_f1']['value']:.4f} "
          f"samples={report['samples']}")
    print(f"Wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluate step and return the exit code; ``argv`` defaults to ``sys.argv[1:]``."""
    return run_processing_step("evaluate", run, argv)


if __name__ == "__main__":
    sys.exit(main())
