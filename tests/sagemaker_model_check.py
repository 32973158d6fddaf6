#!/usr/bin/env python3
"""Checks a pipeline definition's step arguments against SageMaker's service model.

Reads the definition (JSON) on stdin and prints one line per problem, as
``<step>.<path>: <problem>``: an unknown member, a missing required one, a
value of the wrong type, outside its enum, length or range, or not matching its
pattern. A pipeline expression (``{"Get": ...}``, ``Std:Join``, ``Std:JsonGet``)
stands for a value known only at run time and is accepted wherever a scalar is.
The model is botocore's (installed with moto); exit code 0 when sound, 1 with
problems, 2 when botocore is missing.

Example:
    deno task pipeline definition --env dev --offline | python3 tests/sagemaker_model_check.py
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

EXPRESSIONS = {"Get", "Std:Join", "Std:JsonGet"}
# Each step type's request, minus the job name SageMaker assigns.
OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "RegisterModel": ("CreateModelPackage", None),
}
# Java's Unicode classes in AWS patterns (always inside [...]), as Python ranges.
JAVA_CLASSES = {r"\p{L}": "A-Za-z\u00c0-\uffff", r"\p{Z}": " \u00a0\u2000-\u200b\u3000", r"\p{N}": "0-9",
                r"\p{M}": "\u0300-\u036f", r"\p{S}": "$+<=>^`|~", r"\p{P}": "!-/:-@[-`{-~",
                r"\p{Alnum}": "A-Za-z0-9", r"\uD800\uDC00-\uDBFF\uDFFF": "\U00010000-\U0010FFFF"}
SCALARS = {"string": str, "boolean": bool, "integer": int, "long": int, "float": (int, float), "double": (int, float)}


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a pipeline expression."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    """Append a problem for each way ``value`` does not fit ``shape``."""
    kind = shape.type_name
    meta = shape.metadata
    if is_expression(value):
        if kind in ("structure", "list", "map"):
            problems.append(f"{path}: an expression where a {kind} is expected")
        return
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: {json.dumps(value)} is not an object")
            return
        for name in value:
            if name not in shape.members:
                problems.append(f"{path}.{name}: not a member of {shape.name}")
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required by {shape.name}, missing")
        for name, member in shape.members.items():
            if name in value:
                check(member, value[name], f"{path}.{name}", problems)
        return
    if kind in ("list", "map"):
        expected = list if kind == "list" else dict
        if not isinstance(value, expected):
            problems.append(f"{path}: {json.dumps(value)} is not a {kind}")
            return
        size(len(value), meta, path, f"{kind} of {len(value)} items", problems)
        if kind == "list":
            for index, item in enumerate(value):
                check(shape.member, item, f"{path}[{index}]", problems)
        else:
            for key, item in value.items():
                check(shape.key, key, f"{path} key {json.dumps(key)}", problems)
                check(shape.value, item, f"{path}.{key}", problems)
        return
    python_type = SCALARS.get(kind)
    if python_type is None or not isinstance(value, python_type) or (kind != "boolean" and isinstance(value, bool)):
        problems.append(f"{path}: {json.dumps(value)} is not a {kind}")
        return
    if kind == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {json.dumps(value)} is not one of {shape.name}'s {len(shape.enum)} values")
        size(len(value), meta, path, f"{len(value)} characters", problems)
        pattern = meta.get("pattern")
        if pattern and re.fullmatch(python_pattern(pattern), value) is None:
            problems.append(f"{path}: {json.dumps(value)} does not match {pattern}")
    elif kind in ("integer", "long", "float", "double"):
        size(value, meta, path, str(value), problems)


def python_pattern(pattern: str) -> str:
    """A service-model (Java) pattern in Python's syntax. Some patterns end in a stray
    ``${1,128}`` (a length, which ``min``/``max`` give too): it becomes ``$``."""
    for java, python in JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    return re.sub(r"\$\{\d+,\d+\}$", "$", pattern)


def size(amount: float, meta: dict[str, Any], path: str, what: str, problems: list[str]) -> None:
    """Append a problem when ``amount`` is outside the shape's ``min``/``max``."""
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and amount < low) or (high is not None and amount > high):
        problems.append(f"{path}: {what}, outside {low if low is not None else '…'}-{high if high is not None else '…'}")


def steps(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, including those in condition branches."""
    found = []
    for step in items:
        found.append(step)
        if step.get("Type") == "Condition":
            found.extend(steps(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", [])))
    return found


def problems_of(definition: dict[str, Any], model: Any) -> list[str]:
    """Every problem in the arguments of the definition's job and registration steps."""
    problems: list[str] = []
    for step in steps(definition["Steps"]):
        if step["Type"] not in OPERATIONS:
            continue
        operation, job_name = OPERATIONS[step["Type"]]
        arguments = dict(step["Arguments"])
        if job_name is not None:
            arguments[job_name] = "assigned-by-sagemaker"
        check(model.operation_model(operation).input_shape, arguments, step["Name"], problems)
    return problems


def main() -> int:
    """Check the definition on stdin; print its problems."""
    try:
        import botocore.session
    except ImportError:
        print("botocore is not installed: pip install botocore (moto brings it)", file=sys.stderr)
        return 2
    model = botocore.session.get_session().get_service_model("sagemaker")
    problems = problems_of(json.load(sys.stdin), model)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
