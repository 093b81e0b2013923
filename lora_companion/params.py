"""Notebook parameters: their declared types and bounds, the scale profiles, and validation.

Each chapter has one YAML file in ``lora_companion/profiles/`` (``preliminaries.yaml``, ``ntk_landscape.yaml``, …)::

    notebooks:
      ntk_landscape/e1_low_rank:          # notebook id: path under book/ without .ipynb
        params:                           # every parameter of the notebook's `parameters` cell
          seed: {type: int, min: 0}
          Ns: {type: "list[int]", min: 1}
          device: {type: str, choices: [cpu, cuda]}
        profiles:                         # overrides of the notebook's defaults (= the book profile)
          smoke: {Ns: [5, 10]}
          paper: {Ns: [100, 400, 1600], device: cuda}

An optional ``constraints`` list holds Python expressions over the parameters (``"rank <= min(m, n)"``).
Supported types: ``int``, ``float``, ``bool``, ``str``, ``list[int]``, ``list[float]``; bounds ``min``/``max``
(inclusive, element-wise for lists) and ``choices``. The same validation runs in the runner (before a kernel
starts) and in each notebook's validation cell (for a reader who edits the parameters by hand).
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import yaml

PROFILES = ("smoke", "book", "paper")
_SCALAR = {"int": int, "float": float, "bool": bool, "str": str}


class ParameterError(ValueError):
    """A parameter that is unknown, of the wrong type, or out of range; the message names it."""


@lru_cache(maxsize=None)
def _chapter_file(chapter: str) -> dict:
    path = resources.files("lora_companion") / "profiles" / f"{chapter}.yaml"
    if not path.is_file():
        raise KeyError(f"no profile file for chapter {chapter!r}")
    return yaml.safe_load(path.read_text())["notebooks"]


def chapter_notebooks(chapter: str) -> list[str]:
    """Notebook ids of a chapter, in the order its profile file lists them."""
    return list(_chapter_file(chapter))


def notebook_spec(notebook: str) -> dict:
    """The ``params`` and ``profiles`` entry of a notebook id such as ``ntk_landscape/e1_low_rank``."""
    try:
        return _chapter_file(notebook.split("/")[0])[notebook]
    except KeyError:
        raise KeyError(f"unknown notebook {notebook!r}") from None


def profile_overrides(notebook: str, profile: str) -> dict:
    """Parameter values a profile sets (``book`` sets none: the notebook's defaults are the book profile)."""
    if profile not in PROFILES:
        raise ParameterError(f"profile must be one of {PROFILES}, got {profile!r}")
    values = notebook_spec(notebook).get("profiles", {}).get(profile, {}) or {}
    return validate(notebook, values, partial=True)


def _check_value(name: str, decl: dict, value: Any) -> Any:
    kind = decl["type"]
    if kind.startswith("list["):
        if not isinstance(value, (list, tuple)):
            raise ParameterError(f"parameter {name!r} must be a {kind}, got {type(value).__name__} {value!r}")
        if decl.get("min_len", 1) > len(value):
            raise ParameterError(f"parameter {name!r} needs at least {decl.get('min_len', 1)} element(s)")
        elem = {**decl, "type": kind[5:-1]}
        return [_check_value(f"{name}[{i}]", elem, v) for i, v in enumerate(value)]
    py = _SCALAR[kind]
    if py is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, py) or (py is int and isinstance(value, bool)):
        raise ParameterError(f"parameter {name!r} must be {kind}, got {type(value).__name__} {value!r}")
    if py is float and not math.isfinite(value):
        raise ParameterError(f"parameter {name!r} must be finite, got {value!r}")
    if "choices" in decl and value not in decl["choices"]:
        raise ParameterError(f"parameter {name!r} must be one of {decl['choices']}, got {value!r}")
    if "min" in decl and value < decl["min"]:
        raise ParameterError(f"parameter {name!r} must be ≥ {decl['min']}, got {value!r}")
    if "max" in decl and value > decl["max"]:
        raise ParameterError(f"parameter {name!r} must be ≤ {decl['max']}, got {value!r}")
    return value


def validate(notebook: str, values: Mapping[str, Any], partial: bool = False) -> dict:
    """Check ``values`` against the notebook's declarations; return them in declaration order.

    Unknown names, wrong types, non-finite floats and out-of-range values raise :class:`ParameterError`
    naming the parameter. Unless ``partial``, every declared parameter must be present.
    """
    declared = notebook_spec(notebook)["params"]
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ParameterError(f"unknown parameter {unknown[0]!r} for notebook {notebook!r}; "
                             f"known: {', '.join(declared)}")
    missing = [n for n in declared if n not in values]
    if missing and not partial:
        raise ParameterError(f"parameter {missing[0]!r} of notebook {notebook!r} is missing")
    checked = {n: _check_value(n, declared[n], values[n]) for n in declared if n in values}
    if not missing:
        _check_constraints(notebook, checked)
    return checked


def _check_constraints(notebook: str, values: dict) -> None:
    """Cross-parameter constraints: the ``constraints`` list of Python expressions in the profile file."""
    for expr in notebook_spec(notebook).get("constraints", []):
        names = {n: v for n, v in values.items() if n in expr}
        if not eval(expr, {"__builtins__": {}, "min": min, "max": max, "len": len}, dict(values)):
            shown = ", ".join(f"{n}={v!r}" for n, v in names.items())
            raise ParameterError(f"parameters must satisfy {expr} ({shown})")


def validate_globals(notebook: str, namespace: Mapping[str, Any]) -> dict:
    """Validate the notebook's declared parameters as found in ``namespace`` (a notebook's ``globals()``)."""
    declared = notebook_spec(notebook)["params"]
    return validate(notebook, {n: namespace[n] for n in declared if n in namespace})


def parse_cli_value(notebook: str, name: str, text: str) -> Any:
    """Turn a command-line string into the declared type of parameter ``name`` (then :func:`validate` it)."""
    declared = notebook_spec(notebook)["params"]
    if name not in declared:
        raise ParameterError(f"unknown parameter {name!r} for notebook {notebook!r}; known: {', '.join(declared)}")
    kind = declared[name]["type"]
    if kind == "str":
        return text
    try:
        value = json.loads(text.lower() if kind == "bool" else text)
    except json.JSONDecodeError:
        if kind.startswith("list["):
            try:
                value = [json.loads(t) for t in text.split(",")]
            except json.JSONDecodeError:
                raise ParameterError(f"parameter {name!r} must be a {kind}, got {text!r}") from None
        else:
            raise ParameterError(f"parameter {name!r} must be {kind}, got {text!r}") from None
    if kind.startswith("list[") and not isinstance(value, list):
        value = [value]
    return validate(notebook, {name: value}, partial=True)[name]
