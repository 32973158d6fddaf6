"""Helpers shared by the pipeline steps (preprocess, train, evaluate).

Every step takes its paths from arguments or environment variables whose
defaults are SageMaker's container paths, so the same script runs in a
SageMaker job and in a local run directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

TEXT_COLUMN = "text"
LABEL_COLUMN = "label"
# Where SageMaker reads a processing job's ExitMessage (the failure reason it shows).
MESSAGE_FILE = Path("/opt/ml/output/message")


class StepError(Exception):
    """An expected failure (bad input, missing file): reported as one line, exit code 1."""


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose usage errors become :class:`StepError`
    (one line on stderr, exit code 1) instead of usage text and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Raise the parse error as a :class:`StepError`."""
        raise StepError(f"Invalid arguments: {message}. Run with --help for usage.")


def run_step(name: str, main: Callable[[], None], on_error: Callable[[str], None] | None = None) -> int:
    """Run ``main`` and return a process exit code.

    A :class:`StepError` is printed as ``"<name>: <message>"`` on stderr and
    gives exit code 1, without a traceback. ``on_error`` is called with the
    message first (the training step records it in SageMaker's failure file).
    Unexpected exceptions also reach ``on_error`` and then propagate, so their
    traceback is kept for debugging.
    """
    try:
        main()
    except StepError as error:
        message = " ".join(str(error).splitlines())
        if on_error is not None:
            on_error(message)
        print(f"{name}: {message}", file=sys.stderr)
        return 1
    except Exception as error:
        if on_error is not None:
            on_error(f"Unexpected error: {type(error).__name__}: {error}")
        raise
    return 0


def write_reason(path: Path, message: str, create: bool = False) -> None:
    """Record ``message`` in ``path`` (SageMaker shows the first 1 KB as the job's failure
    reason). Best effort, never raises; creates the directory only when ``create`` is set."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.is_dir():
            path.write_text(message + "\n", encoding="utf-8")
    except OSError:
        pass


def message_file(argv: Sequence[str]) -> Path | None:
    """The ``--message-file`` given in ``argv`` (as ``--message-file PATH`` or
    ``--message-file=PATH``), or None. Read before the arguments are parsed, so that a
    parse error is recorded too."""
    for index, arg in enumerate(argv):
        if arg.startswith("--message-file="):
            return Path(arg.split("=", 1)[1])
        if arg == "--message-file" and index + 1 < len(argv):
            return Path(argv[index + 1])
    return None


def add_message_file_argument(parser: argparse.ArgumentParser) -> None:
    """Declare ``--message-file`` (see :func:`message_file`) on a processing step's parser."""
    parser.add_argument("--message-file", type=Path, default=MESSAGE_FILE,
                        help="where to write the failure reason (default: %(default)s)")


def run_processing_step(name: str, main: Callable[[Sequence[str] | None], None],
                        argv: Sequence[str] | None) -> int:
    """Run a processing step's ``main(argv)`` with :func:`run_step`, recording a failure's
    reason in its message file, as SageMaker expects of processing containers: the
    ``--message-file`` given (its directory created), else :data:`MESSAGE_FILE` if its
    directory exists."""
    args = list(sys.argv[1:] if argv is None else argv)
    given = message_file(args)
    return run_step(name, lambda: main(args),
                    on_error=lambda message: write_reason(given or MESSAGE_FILE, message, create=given is not None))


def normalise_text(value: str) -> str:
    """Lowercase ``value`` and collapse every run of whitespace to one space."""
    return " ".join(value.lower().split())


def find_csv_files(directory: Path, preferred: str | None = None) -> list[Path]:
    """Return the CSV files to read from ``directory``.

    If ``preferred`` (e.g. ``"train.csv"``) exists, only that file; otherwise
    every ``*.csv`` in the directory, sorted by name. Raises :class:`StepError`
    when the directory is missing or holds no CSV file.
    """
    if not directory.is_dir():
        raise StepError(f"Cannot read input: directory \"{directory}\" does not exist.")
    if preferred is not None and (directory / preferred).is_file():
        return [directory / preferred]
    files = sorted(path for path in directory.glob("*.csv") if path.is_file())
    if not files:
        raise StepError(f"Cannot read input: no .csv file in \"{directory}\".")
    return files


def read_csv(path: Path, columns: Sequence[str], hint: str = "") -> pd.DataFrame:
    """Read ``path`` and return only ``columns`` (as strings, NaN kept).

    Raises :class:`StepError` naming the columns found when one is missing;
    ``hint`` (a sentence) is appended to that message.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise StepError(f"Cannot parse \"{path}\" as CSV: {str(error).strip().rstrip('.')}.") from error
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        found = ", ".join(f"\"{column}\"" for column in frame.columns) or "none"
        wanted = ", ".join(f"\"{column}\"" for column in missing)
        plural = "s" if len(missing) > 1 else ""
        raise StepError(f"Missing column{plural} {wanted} in \"{path}\"; columns found: {found}."
                        + (f" {hint}" if hint else ""))
    return frame.loc[:, list(columns)]


def read_labelled_dir(directory: Path, preferred: str | None = None) -> pd.DataFrame:
    """Read ``text,label`` rows from the CSV file(s) of ``directory`` (see
    :func:`find_csv_files`), dropping rows whose text or label is empty."""
    files = find_csv_files(directory, preferred)
    frame = pd.concat([read_csv(path, [TEXT_COLUMN, LABEL_COLUMN]) for path in files],
                      ignore_index=True)
    frame = frame.dropna()
    frame = frame[(frame[TEXT_COLUMN].str.strip() != "") & (frame[LABEL_COLUMN].str.strip() != "")]
    if frame.empty:
        raise StepError(f"Cannot use input: no row with both text and label in \"{directory}\".")
    return frame.reset_index(drop=True)


def write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
