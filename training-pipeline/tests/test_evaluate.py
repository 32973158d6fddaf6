"""Tests of src/evaluate.py: model loading (archive or file), report shape, errors."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

import evaluate
import train

TEST_ROWS = {
    "text": ["chest pain and troponin", "knee fracture cast", "seizure on eeg", "troponin rise",
             "cast for fracture", "migraine headache"],
    "label": ["cardio", "ortho", "neuro", "cardio", "ortho", "neuro"],
}


class FixedModel:
    """A stand-in model that returns preset predictions."""

    def __init__(self, predictions: Sequence[str]) -> None:
        self.predictions = list(predictions)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Return the preset predictions, one per text."""
        assert len(texts) == len(self.predictions)
        return self.predictions


def write_split(parent: Path) -> Path:
    """Write test.csv with three labels into a new ``parent / "test"``; return that directory."""
    directory = parent / "test"
    directory.mkdir()
    pd.DataFrame(TEST_ROWS).to_csv(directory / "test.csv", index=False)
    return directory


@pytest.fixture
def split_dir(tmp_path: Path) -> Path:
    """A directory holding test.csv with three labels."""
    return write_split(tmp_path)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A directory holding model.joblib and labels.json trained on the test rows."""
    model = train.fit(pd.DataFrame(TEST_ROWS), train.Hyperparameters(ngram_max=1))
    directory = tmp_path / "model"
    train.save(model, directory)
    return directory


def run_main(model_dir: Path, split_dir: Path, output_dir: Path) -> int:
    """Run evaluate.main on the given directories."""
    return evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(split_dir),
                          "--output-dir", str(output_dir)])


def test_defaults_are_sagemaker_processing_paths() -> None:
    args = evaluate.parse_args([])
    assert args.model_dir == Path("/opt/ml/processing/model")
    assert args.test_dir == Path("/opt/ml/processing/test")
    assert args.output_dir == Path("/opt/ml/processing/evaluation")


def test_report_has_the_property_file_shape(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    assert run_main(model_dir, split_dir, tmp_path / "evaluation") == 0

    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert set(report) == {"metrics", "per_class", "samples"}
    assert set(report["metrics"]) == {"accuracy", "macro_f1"}
    assert 0.0 <= report["metrics"]["accuracy"]["value"] <= 1.0
    assert 0.0 <= report["metrics"]["macro_f1"]["value"] <= 1.0
    assert report["samples"] == 6
    assert set(report["per_class"]) == {"cardio", "ortho", "neuro"}
    for scores in report["per_class"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
        assert scores["support"] == 2


def test_model_tar_gz_is_extracted(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:  # as SageMaker packs /opt/ml/model
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)

    assert run_main(archive_dir, split_dir, tmp_path / "from-archive") == 0
    assert run_main(model_dir, split_dir, tmp_path / "from-file") == 0

    from_archive = (tmp_path / "from-archive" / "evaluation.json").read_text()
    assert from_archive == (tmp_path / "from-file" / "evaluation.json").read_text()
    assert sorted(p.name for p in archive_dir.iterdir()) == ["model.tar.gz"]


def test_scores_are_computed_per_class() -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["x", "x", "y", "y"]})

    report = evaluate.evaluate(FixedModel(["x", "y", "y", "z"]), frame)

    assert report["metrics"]["accuracy"]["value"] == 0.5
    assert report["per_class"]["x"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                        "support": 2}
    assert report["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["metrics"]["macro_f1"]["value"] == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)


def test_perfect_predictions_score_one() -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]})
    report = evaluate.evaluate(FixedModel(["x", "y"]), frame)
    assert report["metrics"] == {"accuracy": {"value": 1.0}, "macro_f1": {"value": 1.0}}


@pytest.fixture(scope="module")
def missing_model(tmp_path_factory: pytest.TempPathFactory,
                  run_script) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """evaluate.py run as a process, with a --message-file, on a model directory that does not
    exist: the directory it ran in and its result. The two tests below read this one run (what
    it prints, what it records for SageMaker): a run is mostly the import of pandas and sklearn."""
    tmp_path = tmp_path_factory.mktemp("missing-model")
    result = run_script("evaluate.py", "--model-dir", str(tmp_path / "empty"),
                        "--test-dir", str(write_split(tmp_path)), "--output-dir", str(tmp_path / "evaluation"),
                        "--message-file", str(tmp_path / "output" / "message"))
    return tmp_path, result


def test_missing_model_fails_with_one_line(missing_model: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = missing_model

    assert result.returncode == 1
    assert result.stderr == (f'evaluate: Cannot load model: neither model.tar.gz nor model.joblib in '
                             f'"{tmp_path / "empty"}".\n')
    assert not (tmp_path / "evaluation").exists()


def test_failure_reason_is_written_where_sagemaker_reads_it(
        missing_model: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = missing_model
    message = tmp_path / "output" / "message"

    assert result.returncode == 1
    assert message.read_text(encoding="utf-8") == result.stderr.removeprefix("evaluate: ")


def test_archive_without_model_fails(split_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    (tmp_path / "notes.txt").write_text("not a model")
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "notes.txt", arcname="notes.txt")

    assert run_main(archive_dir, split_dir, tmp_path / "evaluation") == 1
    assert "holds no model.joblib at its root" in capsys.readouterr().err


def test_corrupt_archive_fails(split_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.tar.gz").write_text("garbage")
    assert run_main(tmp_path, split_dir, tmp_path / "evaluation") == 1
    assert capsys.readouterr().err.startswith(f'evaluate: Cannot extract "{tmp_path / "model.tar.gz"}"')


def test_model_quality_is_in_sagemakers_multiclass_format(model_dir: Path, split_dir: Path, tmp_path: Path) -> None:
    assert run_main(model_dir, split_dir, tmp_path / "evaluation") == 0

    quality = json.loads((tmp_path / "evaluation" / "model_quality.json").read_text())
    metrics = quality["multiclass_classification_metrics"]
    assert set(metrics) == {"accuracy", "weighted_precision", "weighted_recall", "weighted_f1", "confusion_matrix"}
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert metrics["accuracy"] == {"value": report["metrics"]["accuracy"]["value"], "standard_deviation": "NaN"}
    matrix = metrics["confusion_matrix"]
    assert set(matrix) == {"cardio", "ortho", "neuro"}
    assert sum(sum(row.values()) for row in matrix.values()) == report["samples"]
    assert all(sum(matrix[label].values()) == 2 for label in matrix), "each row counts one actual label"


def test_model_quality_counts_each_confusion() -> None:
    quality = evaluate.model_quality(["x", "x", "y"], ["x", "y", "y"])["multiclass_classification_metrics"]
    assert quality["confusion_matrix"] == {"x": {"x": 1, "y": 1}, "y": {"x": 0, "y": 1}}
    assert quality["accuracy"]["value"] == pytest.approx(2 / 3)
    assert quality["weighted_recall"]["value"] == pytest.approx(2 / 3)
