"""Tests of src/train.py: hyperparameters, SageMaker paths, model files, failure file."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest

import train
from common import StepError

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample.csv"


def put_training_data(sm_env: dict[str, str], rows: int = 200) -> pd.DataFrame:
    """Copy the first ``rows`` rows of the sample into the train channel."""
    frame = pd.read_csv(SAMPLE_CSV, dtype=str).head(rows)
    channel = Path(sm_env["SM_CHANNEL_TRAIN"])
    channel.mkdir(parents=True)
    frame.to_csv(channel / "train.csv", index=False)
    return frame


def test_default_paths_are_sagemaker_training_paths() -> None:
    assert train.Paths.from_env({}) == train.Paths(
        config_dir=Path("/opt/ml/input/config"),
        train_dir=Path("/opt/ml/input/data/train"),
        model_dir=Path("/opt/ml/model"),
        output_data_dir=Path("/opt/ml/output/data"),
        output_dir=Path("/opt/ml/output"),
    )


def test_hyperparameters_are_parsed_from_strings() -> None:
    parsed = train.parse_hyperparameters({"max_features": "500", "ngram_max": " 1 ", "C": "0.25",
                                          "seed": "7"})
    assert parsed == train.Hyperparameters(max_features=500, ngram_max=1, C=0.25, seed=7)
    assert isinstance(parsed.C, float) and isinstance(parsed.max_features, int)


def test_hyperparameters_accept_json_numbers_and_keep_defaults() -> None:
    assert train.parse_hyperparameters({}) == train.Hyperparameters(20000, 2, 1.0, 42)
    assert train.parse_hyperparameters({"C": 3, "seed": 0}) == train.Hyperparameters(C=3.0, seed=0)


def test_sagemaker_sdk_hyperparameters_are_ignored() -> None:
    parsed = train.parse_hyperparameters({"sagemaker_program": "train.py", "C": "2"})
    assert parsed == train.Hyperparameters(C=2.0)


@pytest.mark.parametrize("name, value", [
    ("max_features", "many"), ("max_features", "0"), ("max_features", "1.5"), ("max_features", True),
    ("ngram_max", "0"), ("ngram_max", "6"), ("ngram_max", ""),
    ("C", "zero"), ("C", "0"), ("C", "-1"), ("C", "nan"), ("C", "inf"), ("C", None),
    ("seed", "-1"), ("seed", "4294967296"), ("seed", 1.0),
])
def test_bad_hyperparameter_values_are_rejected(name: str, value: object) -> None:
    with pytest.raises(StepError, match=f'^Invalid hyperparameter "{name}": expected .*, got '):
        train.parse_hyperparameters({name: value})


def test_unknown_hyperparameter_is_rejected() -> None:
    with pytest.raises(StepError, match='^Unknown hyperparameter "c", "epochs"; use "max_features"'):
        train.parse_hyperparameters({"c": "1", "epochs": "3"})


def test_sm_hps_takes_precedence_over_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "hyperparameters.json").write_text('{"C": "5"}')
    assert train.load_raw_hyperparameters({"SM_HPS": '{"C": "2"}'}, tmp_path) == {"C": "2"}
    assert train.load_raw_hyperparameters({}, tmp_path) == {"C": "5"}
    assert train.load_raw_hyperparameters({"SM_HPS": " "}, tmp_path) == {"C": "5"}
    assert train.load_raw_hyperparameters({}, tmp_path / "missing") == {}


@pytest.mark.parametrize("text, message", [
    ("{", "Cannot parse hyperparameters from SM_HPS as JSON"),
    ('["C"]', "Invalid hyperparameters in SM_HPS: expected a JSON object, got list"),
])
def test_malformed_sm_hps_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(StepError, match=message):
        train.load_raw_hyperparameters({"SM_HPS": text}, tmp_path)


def test_training_writes_model_labels_and_metrics(sm_env: dict[str, str]) -> None:
    frame = put_training_data(sm_env)
    config = Path(sm_env["SM_INPUT_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({"max_features": "300", "C": "2.0"}))

    assert train.main(sm_env) == 0

    model_dir = Path(sm_env["SM_MODEL_DIR"])
    model = joblib.load(model_dir / "model.joblib")
    labels = json.loads((model_dir / "labels.json").read_text())
    assert labels == sorted(frame["label"].unique())
    assert set(model.predict(["Echocardiogram showed atrial fibrillation."])) <= set(labels)
    assert len(model.named_steps["tfidf"].vocabulary_) == 300
    metrics = json.loads((Path(sm_env["SM_OUTPUT_DATA_DIR"]) / "metrics.json").read_text())
    assert metrics["samples"] == len(frame)
    assert 0.0 <= metrics["train_accuracy"] <= 1.0
    assert metrics["hyperparameters"] == {"max_features": 300, "ngram_max": 2, "C": 2.0, "seed": 42}
    assert not (Path(sm_env["SM_OUTPUT_DIR"]) / "failure").exists()


def test_any_csv_in_the_channel_is_read_when_train_csv_is_absent(sm_env: dict[str, str]) -> None:
    frame = put_training_data(sm_env, rows=60)
    channel = Path(sm_env["SM_CHANNEL_TRAIN"])
    (channel / "train.csv").rename(channel / "part-0.csv")

    assert train.main({**sm_env, "SM_HPS": "{}"}) == 0
    metrics = json.loads((Path(sm_env["SM_OUTPUT_DATA_DIR"]) / "metrics.json").read_text())
    assert metrics["samples"] == len(frame)


def test_bad_hyperparameter_writes_failure_file_and_exits_1(
        sm_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    put_training_data(sm_env)

    assert train.main({**sm_env, "SM_HPS": '{"C": "-2"}'}) == 1

    message = 'Invalid hyperparameter "C": expected a positive number, got "-2".'
    assert capsys.readouterr().err == f"train: {message}\n"
    assert (Path(sm_env["SM_OUTPUT_DIR"]) / "failure").read_text() == message + "\n"
    assert not Path(sm_env["SM_MODEL_DIR"]).exists()


def test_single_label_data_cannot_be_trained(sm_env: dict[str, str]) -> None:
    channel = Path(sm_env["SM_CHANNEL_TRAIN"])
    channel.mkdir(parents=True)
    pd.DataFrame({"text": ["a b", "c d"], "label": ["x", "x"]}).to_csv(channel / "train.csv", index=False)

    assert train.main(sm_env) == 1
    assert "need 2 or more" in (Path(sm_env["SM_OUTPUT_DIR"]) / "failure").read_text()


def test_train_entry_point_runs_as_sagemaker_does(sm_env: dict[str, str], run_script) -> None:
    put_training_data(sm_env, rows=100)

    result = run_script("train", env={**sm_env, "SM_HPS": '{"ngram_max": "1"}'})

    assert result.returncode == 0, result.stderr
    assert "train_accuracy=" in result.stdout
    assert (Path(sm_env["SM_MODEL_DIR"]) / "model.joblib").is_file()


def test_train_entry_point_reports_missing_channel_in_one_line(sm_env: dict[str, str], run_script) -> None:
    result = run_script("train", env=sm_env)

    assert result.returncode == 1
    assert result.stderr == (f'train: Cannot read input: directory "{sm_env["SM_CHANNEL_TRAIN"]}" '
                             "does not exist.\n")
    assert (Path(sm_env["SM_OUTPUT_DIR"]) / "failure").is_file()
