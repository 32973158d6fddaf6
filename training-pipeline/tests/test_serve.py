"""The inference server's contract, as SageMaker hosting and batch transform use it:
`serve` started as a process (gunicorn) on a free port, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import serve
import train
from conftest import SRC_DIR

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "sample.csv"
TEXTS = ["chest pain radiating to the left arm, troponin elevated",
         "fracture of the distal radius after a fall, cast applied",
         "seizure with loss of consciousness, EEG ordered"]


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the sample, saved as the train step saves it."""
    directory = tmp_path_factory.mktemp("model")
    frame = pd.read_csv(SAMPLE_CSV, dtype=str)
    train.save(train.fit(frame, train.Hyperparameters(max_features=2000)), directory)
    return directory


def start_server(model: Path, workers: int = 2, extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start `serve` from PATH as SageMaker would (plus --host/--port) and wait for /ping."""
    port = free_port()
    env = {**os.environ, "SM_MODEL_DIR": str(model), "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
           "PATH": os.pathsep.join([str(SRC_DIR), str(Path(sys.executable).parent), os.environ["PATH"]]),
           **(extra or {})}
    process = subprocess.Popen(["serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.stderr.read()}")
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2)
            return process, url
        except urllib.error.HTTPError:
            return process, url  # up, but answering an error: the test looks at it
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("serve did not answer /ping within 60 s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as docker stop and Ctrl-C do; gunicorn stops its workers and exits 0."""
    process.terminate()
    assert process.wait(timeout=20) == 0
    process.stdout.close()
    process.stderr.close()


# The module's server takes bodies up to this size: above every other test's body, so the one
# server (its start is mostly the model's load) also answers the test of the limit.
PAYLOAD_LIMIT = 1024


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[str]:
    process, url = start_server(model_dir, extra={"MLOPS_MAX_PAYLOAD_BYTES": str(PAYLOAD_LIMIT)})
    yield url
    stop(process)


def call(url: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None) -> tuple[int, str, str]:
    """Status, content type and text of a request (errors included)."""
    request = urllib.request.Request(url + path, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_ping_reports_the_loaded_model(server: str) -> None:
    status, kind, text = call(server, "/ping")
    assert (status, kind) == (200, "application/json")
    assert json.loads(text) == {"status": "ok", "labels": sorted(pd.read_csv(SAMPLE_CSV)["label"].unique())}


def test_csv_in_json_out_by_default(server: str) -> None:
    status, kind, text = call(server, "/invocations", "\n".join(TEXTS).encode(), {"Content-Type": "text/csv"})
    assert (status, kind) == (200, "application/json")
    body = json.loads(text)
    assert [p["label"] for p in body["predictions"]] == ["Cardiovascular / Pulmonary", "Orthopedic", "Neurology"]
    for prediction in body["predictions"]:
        assert set(prediction["probabilities"]) == set(body["labels"])
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
        assert max(prediction["probabilities"], key=prediction["probabilities"].get) == prediction["label"]


def test_json_in_csv_out_when_accept_asks(server: str) -> None:
    status, kind, text = call(server, "/invocations", json.dumps({"instances": TEXTS}).encode(),
                              {"Content-Type": "application/json", "Accept": "text/csv"})
    assert (status, kind) == (200, "text/csv")
    rows = [line.split(",") for line in text.splitlines()]
    assert [row[0] for row in rows] == ["Cardiovascular / Pulmonary", "Orthopedic", "Neurology"]
    assert all(len(row) == 6 and sum(map(float, row[1:])) == pytest.approx(1.0, abs=1e-5) for row in rows)


def test_accept_preferences_and_charset_parameters(server: str) -> None:
    body = json.dumps({"instances": TEXTS[:1]}).encode()
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    assert call(server, "/invocations", body, {**json_type, "Accept": "text/csv;q=0.5, application/json"})[1] \
        == "application/json"
    assert call(server, "/invocations", body, {**json_type, "Accept": "text/*"})[1] == "text/csv"
    assert call(server, "/invocations", body, {**json_type, "Accept": "*/*"})[1] == "application/json"


def test_a_csv_record_with_commas_is_one_text(server: str) -> None:
    status, _, text = call(server, "/invocations", b'chest pain, dyspnea\n"quoted, ""text"""\n\n',
                           {"Content-Type": "text/csv"})
    assert status == 200
    assert len(json.loads(text)["predictions"]) == 2


@pytest.mark.parametrize("body, headers, status, message", [
    (b"", {"Content-Type": "text/csv"}, 400, "The request body is empty"),
    (b"  \n", {"Content-Type": "text/csv"}, 400, "The request body is empty"),
    (b"{", {"Content-Type": "application/json"}, 400, "Cannot parse the body as JSON"),
    (b'{"texts": ["a"]}', {"Content-Type": "application/json"}, 400, "needs an \"instances\" list"),
    (b'{"instances": [1]}', {"Content-Type": "application/json"}, 400, "instances[0] is 1, not a string"),
    (b'{"instances": []}', {"Content-Type": "application/json"}, 400, "holds no text"),
    (b"\xff\xfe", {"Content-Type": "text/csv"}, 400, "not UTF-8"),
    (b"some text", {"Content-Type": "text/plain"}, 415, "Unsupported Content-Type \"text/plain\""),
    (b"some text", {}, 415, "Unsupported Content-Type"),
    (b"some text", {"Content-Type": "text/csv", "Accept": "application/xml"}, 406, "Cannot answer in"),
])
def test_bad_payloads_get_a_clear_4xx(server: str, body: bytes, headers: dict[str, str], status: int,
                                      message: str) -> None:
    code, kind, text = call(server, "/invocations", body, headers, method="POST")
    assert (code, kind) == (status, "application/json")
    error = json.loads(text)["error"]
    assert message in error
    assert "Traceback" not in text and "\n" not in error


def test_wrong_routes_and_methods(server: str) -> None:
    assert call(server, "/predict", b"x", {"Content-Type": "text/csv"})[0] == 404
    assert call(server, "/invocations")[0] == 405
    assert call(server, "/ping", b"x", method="POST")[0] == 405


def test_concurrent_requests_all_answer(server: str) -> None:
    def one(index: int) -> str:
        status, _, text = call(server, "/invocations", TEXTS[index % 3].encode(), {"Content-Type": "text/csv"})
        assert status == 200
        return json.loads(text)["predictions"][0]["label"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        labels = list(pool.map(one, range(24)))
    assert labels == ["Cardiovascular / Pulmonary", "Orthopedic", "Neurology"] * 8


def test_a_body_above_the_limit_is_413(server: str) -> None:
    status, _, text = call(server, "/invocations", b"x" * (PAYLOAD_LIMIT + 1), {"Content-Type": "text/csv"})
    assert status == 413 and f"above the limit of {PAYLOAD_LIMIT}" in json.loads(text)["error"]
    assert call(server, "/invocations", b"x" * PAYLOAD_LIMIT, {"Content-Type": "text/csv"})[0] == 200


def test_without_a_model_ping_is_503_and_says_why(tmp_path: Path) -> None:
    process, url = start_server(tmp_path, workers=1)
    try:
        status, _, text = call(url, "/ping")
        assert status == 503
        assert json.loads(text)["error"] == f"Cannot load the model: no model.joblib in \"{tmp_path}\""
        assert call(url, "/invocations", b"a", {"Content-Type": "text/csv"})[0] == 503
    finally:
        stop(process)


def test_settings_follow_sagemaker_variables() -> None:
    settings = serve.settings_from([], {"SAGEMAKER_MODEL_SERVER_WORKERS": "3", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "90",
                                        "SAGEMAKER_BIND_TO_PORT": "9000"})
    assert (settings.host, settings.port, settings.workers, settings.timeout) == ("0.0.0.0", 9000, 3, 90)
    assert settings.model_dir == Path("/opt/ml/model")
    defaults = serve.settings_from([], {})
    assert (defaults.port, defaults.workers, defaults.timeout) == (8080, os.cpu_count(), 60)
    with pytest.raises(ValueError, match="Invalid SAGEMAKER_MODEL_SERVER_WORKERS \"none\""):
        serve.settings_from([], {"SAGEMAKER_MODEL_SERVER_WORKERS": "none"})


def test_bad_worker_setting_is_one_line_and_exit_1(run_script) -> None:
    result = run_script("serve.py", env={"SAGEMAKER_MODEL_SERVER_WORKERS": "0"})
    assert result.returncode == 1
    assert result.stderr == "serve: Invalid SAGEMAKER_MODEL_SERVER_WORKERS \"0\": expected a positive integer.\n"
