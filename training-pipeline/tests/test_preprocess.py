"""Tests of src/preprocess.py: cleaning, stratified split, argument errors."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import preprocess


def write_input(directory: Path, rows: dict[str, list], name: str = "data.csv") -> Path:
    """Write ``rows`` (column -> values) as a CSV file in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_main(tmp_path: Path, *extra: str) -> int:
    """Run preprocess.main with input/output directories under ``tmp_path``."""
    return preprocess.main(["--input-dir", str(tmp_path / "in"), "--train-dir", str(tmp_path / "train"),
                            "--test-dir", str(tmp_path / "test"), "--dataset-dir", str(tmp_path / "dataset"),
                            *extra])


def read_outputs(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the train and test CSV files that preprocess wrote."""
    return (pd.read_csv(tmp_path / "train" / "train.csv", dtype=str),
            pd.read_csv(tmp_path / "test" / "test.csv", dtype=str))


def test_defaults_are_sagemaker_processing_paths() -> None:
    args = preprocess.parse_args([])
    assert args.input_dir == Path("/opt/ml/processing/input/data")
    assert args.train_dir == Path("/opt/ml/processing/output/train")
    assert args.test_dir == Path("/opt/ml/processing/output/test")
    assert (args.text_column, args.label_column, args.test_size, args.seed) == ("text", "label", 0.2, 42)


def test_split_is_stratified_and_complete(tmp_path: Path) -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    write_input(tmp_path / "in", {"text": [f"note {i}" for i in range(100)], "label": labels})

    assert run_main(tmp_path) == 0

    train, test = read_outputs(tmp_path)
    assert list(train.columns) == ["text", "label"] and list(test.columns) == ["text", "label"]
    assert test["label"].value_counts().to_dict() == {"a": 10, "b": 6, "c": 4}
    assert train["label"].value_counts().to_dict() == {"a": 40, "b": 24, "c": 16}
    assert set(train["text"]).isdisjoint(test["text"])
    assert len(set(train["text"]) | set(test["text"])) == 100


def test_same_seed_gives_same_split(tmp_path: Path) -> None:
    write_input(tmp_path / "in", {"text": [f"note {i}" for i in range(40)], "label": ["a", "b"] * 20})
    assert run_main(tmp_path, "--seed", "7") == 0
    first = read_outputs(tmp_path)[1]
    assert run_main(tmp_path, "--seed", "7") == 0
    assert read_outputs(tmp_path)[1].equals(first)
    assert run_main(tmp_path, "--seed", "8") == 0
    assert not read_outputs(tmp_path)[1].equals(first)


def test_normalises_text_and_drops_unusable_rows(tmp_path: Path) -> None:
    write_input(tmp_path / "in", {
        "text": ["  Chest   PAIN\tnoted ", "Knee\nswelling", "   ", None, "lonely label", "ok", "fine"],
        "label": ["cardio", "ortho", "cardio", "ortho", "rare", None, " cardio "],
    })
    rows = pd.DataFrame({"text": [f"filler {i}" for i in range(8)], "label": ["cardio", "ortho"] * 4})
    rows.to_csv(tmp_path / "in" / "more.csv", index=False)

    assert run_main(tmp_path, "--test-size", "0.25") == 0

    combined = pd.concat(read_outputs(tmp_path))
    assert "chest pain noted" in set(combined["text"])
    assert "knee swelling" in set(combined["text"])
    assert set(combined["label"]) == {"cardio", "ortho"}  # "rare" has one example
    assert len(combined) == 11  # 3 usable rows from data.csv + 8 from more.csv
    assert combined["text"].str.strip().ne("").all()


def test_custom_column_names_are_renamed(tmp_path: Path) -> None:
    write_input(tmp_path / "in", {"id": list(range(20)), "transcription": ["Some Text"] * 20,
                                  "medical_specialty": ["x", "y"] * 10})

    assert run_main(tmp_path, "--text-column", "transcription", "--label-column", "medical_specialty") == 0

    train, test = read_outputs(tmp_path)
    assert list(train.columns) == ["text", "label"]
    assert set(test["text"]) == {"some text"}


@pytest.fixture(scope="module")
def missing_columns(tmp_path_factory: pytest.TempPathFactory,
                    run_script) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """preprocess.py run as a process, with a --message-file, on a CSV without the text and label
    columns: the directory it ran in and its result. The two tests below read this one run (what
    it prints, what it records for SageMaker): a run is mostly the import of pandas and sklearn."""
    tmp_path = tmp_path_factory.mktemp("missing-columns")
    write_input(tmp_path / "in", {"body": ["a", "b"], "specialty": ["x", "y"]})
    result = run_script("preprocess.py", "--input-dir", str(tmp_path / "in"), "--train-dir", str(tmp_path / "train"),
                        "--test-dir", str(tmp_path / "test"), "--dataset-dir", str(tmp_path / "dataset"),
                        "--message-file", str(tmp_path / "opt" / "ml" / "output" / "message"))
    return tmp_path, result


def test_missing_column_fails_with_one_line_naming_found_columns(
        missing_columns: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = missing_columns

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('preprocess: Missing columns "text", "label"')
    assert 'columns found: "body", "specialty"' in lines[0]
    assert not (tmp_path / "train").exists()


def test_failure_reason_is_written_where_sagemaker_reads_it(
        missing_columns: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    tmp_path, result = missing_columns
    message = tmp_path / "opt" / "ml" / "output" / "message"

    assert result.returncode == 1
    assert message.read_text(encoding="utf-8") == result.stderr.removeprefix("preprocess: ")
    assert message.read_text(encoding="utf-8").startswith('Missing columns "text", "label"')


@pytest.mark.parametrize("args, message", [
    (["--test-size", "1.5"], 'Invalid --test-size "1.5"'),
    (["--test-size", "0"], 'Invalid --test-size "0.0"'),
    (["--test-size", "half"], "Invalid arguments: argument --test-size: invalid float value: 'half'"),
    (["--seed", "-1"], 'Invalid --seed "-1"'),
    (["--unknown"], "Invalid arguments: unrecognized arguments: --unknown"),
])
def test_bad_arguments_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              args: list[str], message: str) -> None:
    write_input(tmp_path / "in", {"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]})
    assert run_main(tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"preprocess: {message}") and err.count("\n") == 1


def test_missing_input_dir_and_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(tmp_path) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "in").mkdir()
    assert run_main(tmp_path) == 1
    assert "no .csv file" in capsys.readouterr().err


def test_too_few_rows_for_a_stratified_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_input(tmp_path / "in", {"text": list("abcdef"), "label": ["x", "y", "z"] * 2})
    assert run_main(tmp_path, "--test-size", "0.2") == 1
    assert capsys.readouterr().err.startswith("preprocess: Cannot split 6 rows with --test-size 0.2")


def test_a_parse_error_is_recorded_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = tmp_path / "output" / "message"
    assert run_main(tmp_path, "--test-size", "half", f"--message-file={message}") == 1
    assert message.read_text(encoding="utf-8").startswith("Invalid arguments: argument --test-size")
    assert capsys.readouterr().err.startswith("preprocess: Invalid arguments")


def test_dataset_version_is_the_inputs_sha256_and_s3_etag(tmp_path: Path) -> None:
    path = write_input(tmp_path / "in", {"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]})
    assert run_main(tmp_path, "--test-size", "0.5") == 0

    version = json.loads((tmp_path / "dataset" / "dataset.json").read_text(encoding="utf-8"))
    data = path.read_bytes()
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert version["files"] == [{"name": path.name, "bytes": len(data), "sha256": version["sha256"],
                                 "etag": version["etag"]}]
    second = write_input(tmp_path / "more", {"text": ["e"], "label": ["x"]}, name="b.csv")
    both = preprocess.dataset_version([second, path])
    assert both["etag"] == "2 files"
    assert [f["name"] for f in both["files"]] == sorted([path.name, second.name])
    assert both["sha256"] != version["sha256"]


def test_a_requested_data_version_must_match_what_is_read(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write_input(tmp_path / "in", {"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]})
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    for accepted in (sha256, md5, "latest"):
        assert run_main(tmp_path, "--test-size", "0.5", "--data-version", accepted) == 0, accepted
        version = json.loads((tmp_path / "dataset" / "dataset.json").read_text(encoding="utf-8"))
        assert version["requested"] == accepted
    assert run_main(tmp_path, "--test-size", "0.5", "--data-version", "0" * 64) == 1
    assert capsys.readouterr().err == (f"preprocess: The input data is version {sha256} (ETag \"{md5}\"), not "
                                       f"\"{'0' * 64}\" as this run's InputDataVersion says: it changed after "
                                       f"the run was started. Start the pipeline again.\n")
