"""End to end on the shipped sample: preprocess -> train -> evaluate as separate
processes, laid out as SageMaker lays out the jobs' directories."""

from __future__ import annotations

import json
import random
import shutil
import tarfile
from pathlib import Path

import pandas as pd
import pytest

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample.csv"


def preprocess(run_dir: Path, run_script) -> Path:
    """Run the preprocess step on the sample in ``run_dir``; return its output directory."""
    processing = run_dir / "processing"
    (processing / "input" / "data").mkdir(parents=True)
    shutil.copy(SAMPLE_CSV, processing / "input" / "data" / "sample.csv")
    result = run_script("preprocess.py",
                        "--input-dir", str(processing / "input" / "data"),
                        "--train-dir", str(processing / "output" / "train"),
                        "--test-dir", str(processing / "output" / "test"),
                        "--dataset-dir", str(processing / "output" / "dataset"))
    assert result.returncode == 0, result.stderr
    return processing / "output"


def train_and_evaluate(run_dir: Path, split: Path, run_script, shuffle_labels: bool = False) -> dict:
    """Run the train and evaluate steps in ``run_dir`` on preprocess's ``split`` and return
    the evaluation report.

    With ``shuffle_labels`` the training labels are permuted before training, so
    the model can only learn noise.
    """
    channel = run_dir / "ml" / "input" / "data" / "train"
    channel.mkdir(parents=True)
    train = pd.read_csv(split / "train" / "train.csv", dtype=str)
    if shuffle_labels:
        labels = train["label"].tolist()
        random.Random(0).shuffle(labels)
        train["label"] = labels
    train.to_csv(channel / "train.csv", index=False)
    env = {
        "SM_INPUT_CONFIG_DIR": str(run_dir / "ml" / "input" / "config"),
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_MODEL_DIR": str(run_dir / "ml" / "model"),
        "SM_OUTPUT_DATA_DIR": str(run_dir / "ml" / "output" / "data"),
        "SM_OUTPUT_DIR": str(run_dir / "ml" / "output"),
    }
    result = run_script("train", env=env)
    assert result.returncode == 0, result.stderr

    model_input = run_dir / "evaluate" / "model"  # SageMaker hands evaluate the packed model
    model_input.mkdir(parents=True)
    with tarfile.open(model_input / "model.tar.gz", "w:gz") as tar:
        for path in sorted((run_dir / "ml" / "model").iterdir()):
            tar.add(path, arcname=path.name)
    result = run_script("evaluate.py", "--model-dir", str(model_input),
                        "--test-dir", str(split / "test"),
                        "--output-dir", str(run_dir / "evaluate" / "evaluation"))
    assert result.returncode == 0, result.stderr
    return json.loads((run_dir / "evaluate" / "evaluation" / "evaluation.json").read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, run_script) -> dict[str, dict]:
    """Evaluation reports of a normal run and of a run trained on shuffled labels.

    Both train on one preprocess run's split (the step is deterministic: a second run
    would write the same files), so they differ only in the training labels.
    """
    split = preprocess(tmp_path_factory.mktemp("preprocess"), run_script)
    return {
        "trained": train_and_evaluate(tmp_path_factory.mktemp("trained"), split, run_script),
        "shuffled": train_and_evaluate(tmp_path_factory.mktemp("shuffled"), split, run_script,
                                       shuffle_labels=True),
    }


def test_sample_reaches_target_accuracy(reports: dict[str, dict]) -> None:
    report = reports["trained"]
    assert report["samples"] == 120
    assert len(report["per_class"]) == 5
    assert 0.75 <= report["metrics"]["accuracy"]["value"] <= 0.97
    assert report["metrics"]["macro_f1"]["value"] >= 0.7


def test_accuracy_depends_on_training(reports: dict[str, dict]) -> None:
    shuffled = reports["shuffled"]["metrics"]["accuracy"]["value"]
    trained = reports["trained"]["metrics"]["accuracy"]["value"]
    assert shuffled < 0.5
    assert trained - shuffled > 0.3
