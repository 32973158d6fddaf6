#!/usr/bin/env python3
"""Inference server (SageMaker hosting): a small WSGI app served by gunicorn.

SageMaker hosting runs `docker run <image> serve`, health-checks `GET /ping`
and sends requests to `POST /invocations` on port 8080. Batch transform uses
the same two routes. `deno task serve local` runs this same program with the
project's virtual environment.

Routes:
    GET  /ping         200 {"status": "ok", "labels": [...]} once the model is
                       loaded; 503 with the reason when it cannot be.
    POST /invocations  text/csv: one text per CSV record (a record's fields are
                       joined back with commas, so unquoted commas are kept);
                       application/json: {"instances": ["text", ...]}.
                       Answers in the type `Accept` asks for (default JSON):
                       application/json: {"labels": [...], "predictions":
                       [{"label": ..., "probabilities": {label: p, ...}}]};
                       text/csv: one line per text, the label then one
                       probability per class in the order of "labels".

Bad requests get a one-line JSON error and a 4xx: 400 (empty body, malformed
JSON or CSV, no text), 404, 405, 406 (unsupported Accept), 413 (body above the
limit), 415 (unsupported Content-Type). Nothing answers with a traceback.

Environment (SageMaker's names where it has one):
    SM_MODEL_DIR                     /opt/ml/model (model.joblib, labels.json)
    SAGEMAKER_BIND_TO_PORT           8080
    SAGEMAKER_MODEL_SERVER_WORKERS   number of CPUs
    SAGEMAKER_MODEL_SERVER_TIMEOUT   60 seconds (SageMaker's invocation timeout)
    MLOPS_MAX_PAYLOAD_BYTES          6291456 (6 MiB, SageMaker's real-time limit)

Example:
    SM_MODEL_DIR=/tmp/run/model serve --host 127.0.0.1 --port 8081
    curl -s -H 'Content-Type: text/csv' --data-binary 'chest pain' localhost:8081/invocations
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON = "application/json"
CSV = "text/csv"
SUPPORTED_CONTENT_TYPES = (CSV, JSON)
SUPPORTED_RESPONSE_TYPES = (JSON, CSV)
DEFAULT_MAX_PAYLOAD = 6 * 1024 * 1024
DEFAULT_TIMEOUT = 60

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class RequestError(Exception):
    """A request the server refuses: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Model:
    """A loaded classifier and its class labels, in the order of its probabilities."""

    pipeline: Any
    labels: list[str]

    @classmethod
    def load(cls, model_dir: Path) -> Model:
        """Load ``model.joblib`` (and ``labels.json`` when present) from ``model_dir``."""
        path = model_dir / "model.joblib"
        if not path.is_file():
            raise FileNotFoundError(f"no model.joblib in \"{model_dir}\"")
        import joblib  # imported here so that `serve --help` stays fast

        pipeline = joblib.load(path)
        labels = [str(label) for label in pipeline.classes_]
        return cls(pipeline, labels)

    def predict(self, texts: list[str]) -> list[tuple[str, list[float]]]:
        """Return the label and the class probabilities of each text."""
        probabilities = self.pipeline.predict_proba(texts)
        return [(self.labels[int(row.argmax())], [float(p) for p in row]) for row in probabilities]


def media_type(header: str | None) -> str:
    """``"Text/CSV; charset=utf-8"`` → ``"text/csv"``."""
    return (header or "").split(";")[0].strip().lower()


def response_type(accept: str | None) -> str:
    """The response type for an ``Accept`` header: the most preferred type we
    support (q-values honoured, ``*/*`` and no header mean JSON)."""
    if not accept or not accept.strip():
        return JSON
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        kind = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        wildcard = {"*/*": JSON, "application/*": JSON, "text/*": CSV}
        resolved = kind if kind in SUPPORTED_RESPONSE_TYPES else wildcard.get(kind)
        if resolved and quality > 0:
            choices.append((-quality, position, resolved))
    if not choices:
        raise RequestError(406, f"Cannot answer in \"{accept}\": use Accept {' or '.join(SUPPORTED_RESPONSE_TYPES)}.")
    return sorted(choices)[0][2]


def parse_texts(content_type: str, body: bytes) -> list[str]:
    """The texts of a request body, or a :class:`RequestError` saying what is wrong."""
    if not body.strip():
        raise RequestError(400, "The request body is empty: send one or more texts.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, f"The request body is not UTF-8 (byte {error.start}).") from error
    if content_type == CSV:
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as error:
            raise RequestError(400, f"Cannot parse the body as CSV: {error}.") from error
        texts = [",".join(row) for row in rows if any(field.strip() for field in row)]
    elif content_type == JSON:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestError(400, f"Cannot parse the body as JSON: {error.msg} (line {error.lineno}, "
                                    f"column {error.colno}).") from error
        instances = payload.get("instances") if isinstance(payload, dict) else None
        if not isinstance(instances, list):
            raise RequestError(400, "The JSON body needs an \"instances\" list: {\"instances\": [\"text\", ...]}.")
        for index, instance in enumerate(instances):
            if not isinstance(instance, str):
                raise RequestError(400, f"instances[{index}] is {json.dumps(instance)[:40]}, not a string.")
        texts = list(instances)
    else:
        raise RequestError(415, f"Unsupported Content-Type \"{content_type}\": use "
                                f"{' or '.join(SUPPORTED_CONTENT_TYPES)}.")
    if not texts:
        raise RequestError(400, "The request holds no text: send one or more texts.")
    return texts


def render(accept: str, labels: list[str], predictions: list[tuple[str, list[float]]]) -> bytes:
    """Predictions in the response type."""
    if accept == CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for label, probabilities in predictions:
            writer.writerow([label, *(f"{p:.6f}" for p in probabilities)])
        return out.getvalue().encode("utf-8")
    return json.dumps({
        "labels": labels,
        "predictions": [
            {"label": label, "probabilities": dict(zip(labels, probabilities))}
            for label, probabilities in predictions
        ],
    }).encode("utf-8")


def read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes before reading it all."""
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header.strip():
        try:
            length = int(length_header)
        except ValueError as error:
            raise RequestError(400, f"Invalid Content-Length \"{length_header}\".") from error
        if length > limit:
            raise RequestError(413, f"The body has {length} bytes, above the limit of {limit}: "
                                    "send fewer texts per request.")
        return stream.read(length)
    body = stream.read(limit + 1)  # chunked: read one byte past the limit to notice it
    if len(body) > limit:
        raise RequestError(413, f"The body is above the limit of {limit} bytes: send fewer texts per request.")
    return body


class InferenceApp:
    """The WSGI application: ``/ping`` and ``/invocations`` over one loaded model."""

    def __init__(self, model_dir: Path, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.model_dir = model_dir
        self.max_payload = max_payload
        self.model: Model | None = None
        self.problem: str | None = None
        try:
            self.model = Model.load(model_dir)
        except Exception as error:  # reported by /ping, so the platform sees an unhealthy container
            self.problem = f"Cannot load the model: {error}"
            print(f"serve: {self.problem}", file=sys.stderr)

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, content_type, body = self.route(environ)
        except RequestError as error:
            status, content_type, body = error.status, JSON, json.dumps({"error": str(error)}).encode("utf-8")
        except Exception as error:  # never a traceback to the client
            print(f"serve: unexpected {type(error).__name__}: {error}", file=sys.stderr)
            status, content_type = 500, JSON
            body = json.dumps({"error": f"Internal error ({type(error).__name__}); see the server log."}).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  406: "Not Acceptable", 413: "Payload Too Large", 415: "Unsupported Media Type",
                  500: "Internal Server Error", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def route(self, environ: Mapping[str, Any]) -> tuple[int, str, bytes]:
        """Dispatch one request; returns status, content type and body."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path not in ("/ping", "/invocations"):
            raise RequestError(404, f"No route \"{path}\": use GET /ping or POST /invocations.")
        wanted = "GET" if path == "/ping" else "POST"
        if method != wanted:
            raise RequestError(405, f"{path} takes {wanted}, not {method}.")
        if self.model is None:
            return 503, JSON, json.dumps({"status": "unavailable", "error": self.problem}).encode("utf-8")
        if path == "/ping":
            return 200, JSON, json.dumps({"status": "ok", "labels": self.model.labels}).encode("utf-8")
        accept = response_type(environ.get("HTTP_ACCEPT"))
        content_type = media_type(environ.get("CONTENT_TYPE"))
        if content_type not in SUPPORTED_CONTENT_TYPES:
            raise RequestError(415, f"Unsupported Content-Type \"{content_type or '(none)'}\": use "
                                    f"{' or '.join(SUPPORTED_CONTENT_TYPES)}.")
        texts = parse_texts(content_type, read_body(environ, self.max_payload))
        return 200, accept, render(accept, self.model.labels, self.model.predict(texts))


@dataclass(frozen=True)
class Settings:
    """How the server runs, from SageMaker's variables and the command line."""

    host: str
    port: int
    workers: int
    timeout: int
    model_dir: Path
    max_payload: int


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"Invalid {name} \"{raw}\": expected a positive integer.")
    return int(raw)


def settings_from(argv: list[str], env: Mapping[str, str]) -> Settings:
    """Parse ``serve [--host H] [--port P]`` and the environment."""
    parser = argparse.ArgumentParser(prog="serve", description="Inference server: GET /ping, POST /invocations.")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0, as in a container)")
    parser.add_argument("--port", type=int, default=None, help="port (default $SAGEMAKER_BIND_TO_PORT or 8080)")
    args = parser.parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port if args.port is not None else _positive_int(env, "SAGEMAKER_BIND_TO_PORT", 8080),
        workers=_positive_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1),
        timeout=_positive_int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", DEFAULT_TIMEOUT),
        model_dir=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
        max_payload=_positive_int(env, "MLOPS_MAX_PAYLOAD_BYTES", DEFAULT_MAX_PAYLOAD),
    )


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Start gunicorn with the app loaded once before the workers fork."""
    env = os.environ if env is None else env
    try:
        settings = settings_from(sys.argv[1:] if argv is None else argv, env)
    except ValueError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn with our settings instead of its command line."""

        def load_config(self) -> None:
            options = {
                "bind": f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "timeout": settings.timeout,
                "graceful_timeout": 5,
                "preload_app": True,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> InferenceApp:
            return InferenceApp(settings.model_dir, settings.max_payload)

    print(f"serve: http://{settings.host}:{settings.port} with {settings.workers} worker(s), "
          f"model from {settings.model_dir}", file=sys.stderr, flush=True)
    Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
