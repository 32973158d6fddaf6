#!/usr/bin/env python3
"""Train step (SageMaker Training): fit a TF-IDF + logistic regression classifier.

Follows SageMaker's container conventions without the sagemaker-training
toolkit; every location can be overridden through the environment:

    SM_HPS                hyperparameters as a JSON object (takes precedence unless blank)
    SM_INPUT_CONFIG_DIR   /opt/ml/input/config      (hyperparameters.json)
    SM_CHANNEL_TRAIN      /opt/ml/input/data/train  (train.csv, else every *.csv)
    SM_MODEL_DIR          /opt/ml/model             (model.joblib, labels.json)
    SM_OUTPUT_DATA_DIR    /opt/ml/output/data       (metrics.json)
    SM_OUTPUT_DIR         /opt/ml/output            (failure, written on error)

Hyperparameters (SageMaker passes every value as a string):
    max_features  int >= 1          default 20000  vocabulary size of the vectorizer
    ngram_max     int in 1..5       default 2      longest word n-gram
    C             float > 0         default 1.0    inverse regularisation strength
    seed          int in 0..2**32-1 default 42     random state of the classifier

Example:
    SM_HPS='{"C": "2.0"}' SM_CHANNEL_TRAIN=/tmp/run/train SM_MODEL_DIR=/tmp/run/model \\
        SM_OUTPUT_DATA_DIR=/tmp/run/output/data SM_OUTPUT_DIR=/tmp/run/output python3 src/train.py
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from common import LABEL_COLUMN, TEXT_COLUMN, StepError, read_labelled_dir, run_step, write_json, write_reason

MAX_NGRAM = 5
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Hyperparameters:
    """Validated hyperparameters of the model."""

    max_features: int = 20000
    ngram_max: int = 2
    C: float = 1.0
    seed: int = 42


@dataclass(frozen=True)
class Paths:
    """Where the training step reads and writes, from SageMaker's environment variables."""

    config_dir: Path
    train_dir: Path
    model_dir: Path
    output_data_dir: Path
    output_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Paths:
        """Resolve every path from ``env``, falling back to SageMaker's defaults."""
        return cls(
            config_dir=Path(env.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")),
            train_dir=Path(env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
            model_dir=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
            output_data_dir=Path(env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
            output_dir=Path(env.get("SM_OUTPUT_DIR", "/opt/ml/output")),
        )


def _parse_int(name: str, value: object, low: int, high: int) -> int:
    """Parse an integer hyperparameter given as a string or a JSON integer."""
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = int(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or not low <= parsed <= high:
        raise StepError(f"Invalid hyperparameter \"{name}\": expected an integer from {low} "
                        f"to {high}, got {json.dumps(value)}.")
    return parsed


def _parse_positive_float(name: str, value: object) -> float:
    """Parse a positive, finite float hyperparameter given as a string or a JSON number."""
    parsed: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            parsed = None
    if parsed is None or not math.isfinite(parsed) or parsed <= 0:
        raise StepError(f"Invalid hyperparameter \"{name}\": expected a positive number, "
                        f"got {json.dumps(value)}.")
    return parsed


def parse_hyperparameters(raw: Mapping[str, Any]) -> Hyperparameters:
    """Validate raw hyperparameters (strings, as SageMaker passes them, or numbers).

    Missing names keep their defaults. Unknown names are rejected so that a typo
    ("c" for "C") does not silently train with the default; names starting with
    ``sagemaker_`` (set by SageMaker SDK estimators) are ignored.
    """
    known = {field.name for field in fields(Hyperparameters)}
    unknown = sorted(name for name in raw if name not in known and not name.startswith("sagemaker_"))
    if unknown:
        names = ", ".join(f"\"{name}\"" for name in unknown)
        allowed = ", ".join(f"\"{field.name}\"" for field in fields(Hyperparameters))
        raise StepError(f"Unknown hyperparameter {names}; use {allowed}.")
    defaults = Hyperparameters()
    return Hyperparameters(
        max_features=_parse_int("max_features", raw.get("max_features", defaults.max_features),
                                1, 10_000_000),
        ngram_max=_parse_int("ngram_max", raw.get("ngram_max", defaults.ngram_max), 1, MAX_NGRAM),
        C=_parse_positive_float("C", raw.get("C", defaults.C)),
        seed=_parse_int("seed", raw.get("seed", defaults.seed), 0, MAX_SEED),
    )


def load_raw_hyperparameters(env: Mapping[str, str], config_dir: Path) -> dict[str, Any]:
    """Return the hyperparameter object from ``$SM_HPS`` if set and not blank, else
    from ``config_dir/hyperparameters.json``; an absent file means no hyperparameters."""
    if env.get("SM_HPS", "").strip():
        source, text = "SM_HPS", env["SM_HPS"]
    else:
        path = config_dir / "hyperparameters.json"
        if not path.is_file():
            return {}
        source, text = f"\"{path}\"", path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise StepError(f"Cannot parse hyperparameters from {source} as JSON: {error.msg} "
                        f"(line {error.lineno}, column {error.colno}).") from error
    if not isinstance(raw, dict):
        raise StepError(f"Invalid hyperparameters in {source}: expected a JSON object, "
                        f"got {type(raw).__name__}.")
    return raw


def build_model(hyperparameters: Hyperparameters) -> Pipeline:
    """Return an unfitted TF-IDF + logistic regression pipeline."""
    return Pipeline([
        ("tfidf", TfidfVectorizer(max_features=hyperparameters.max_features,
                                  ngram_range=(1, hyperparameters.ngram_max),
                                  sublinear_tf=True)),
        ("classifier", LogisticRegression(C=hyperparameters.C, max_iter=1000,
                                          random_state=hyperparameters.seed)),
    ])


def fit(frame: pd.DataFrame, hyperparameters: Hyperparameters) -> Pipeline:
    """Fit a model on the ``text,label`` rows of ``frame``."""
    labels = frame[LABEL_COLUMN].nunique()
    if labels < 2:
        raise StepError(f"Cannot train: the training data has {labels} label(s), need 2 or more.")
    model = build_model(hyperparameters)
    try:
        model.fit(frame[TEXT_COLUMN], frame[LABEL_COLUMN])
    except ValueError as error:  # e.g. an empty vocabulary after tokenisation
        raise StepError(f"Cannot train: {error}") from error
    return model


def save(model: Pipeline, model_dir: Path) -> list[str]:
    """Write ``model.joblib`` and ``labels.json`` (a JSON list of the class
    labels in the order of the model's outputs) to ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    labels = [str(label) for label in model.classes_]
    write_json(model_dir / "labels.json", labels)
    return labels


def write_failure(output_dir: Path, message: str) -> None:
    """Record ``message`` in ``output_dir/failure``, where SageMaker reads the
    failure reason of a training job. Best effort: never raises."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    write_reason(output_dir / "failure", message)


def run(env: Mapping[str, str], paths: Paths) -> None:
    """Train with the hyperparameters, data and locations given by ``env`` and ``paths``."""
    hyperparameters = parse_hyperparameters(load_raw_hyperparameters(env, paths.config_dir))
    frame = read_labelled_dir(paths.train_dir, preferred="train.csv")
    model = fit(frame, hyperparameters)
    labels = save(model, paths.model_dir)
    train_accuracy = float(model.score(frame[TEXT_COLUMN], frame[LABEL_COLUMN]))
    metrics = {
        "train_accuracy": train_accuracy,
        "samples": len(frame),
        "labels": labels,
        "vocabulary_size": len(model.named_steps["tfidf"].vocabulary_),
        "hyperparameters": asdict(hyperparameters),
    }
    write_json(paths.output_data_dir / "metrics.json", metrics)
    print(f"Trained on {len(frame)} rows, {len(labels)} labels, "
          f"hyperparameters {json.dumps(asdict(hyperparameters))}")
    print(f"train_accuracy={train_accuracy:.4f}")
    print(f"Wrote {paths.model_dir / 'model.joblib'} and {paths.model_dir / 'labels.json'}")


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the training step and return the exit code; ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    paths = Paths.from_env(env)
    return run_step("train", lambda: run(env, paths),
                    on_error=lambda message: write_failure(paths.output_dir, message))


if __name__ == "__main__":
    sys.exit(main())
