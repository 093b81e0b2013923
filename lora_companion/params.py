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

An optional ``constraints`` list holds expressions over the parameters (``"rank <= min(m, n)"``): comparisons
(chained), ``and``/``or``/``not``, ``in``, arithmetic, list literals and ``min``/``max``/``len``/``sum``/``abs``/``sorted``,
evaluated by :func:`evaluate` on the syntax tree (never ``eval``). An optional ``memory`` expression estimates the
bytes of the notebook's largest allocation from its parameters; :func:`check_memory` refuses a run above
:data:`MEMORY_LIMIT` unless told otherwise (``--allow-large``).
Supported types: ``int``, ``float``, ``bool``, ``str``, ``list[int]``, ``list[float]``; bounds ``min``/``max``
(inclusive), ``gt``/``lt`` (exclusive: where the mathematics divides by the parameter or needs it positive), all
element-wise for lists, and ``choices``. Every int has a maximum: its declared ``max``, else :data:`SEED_MAX` for
``seed`` (``seed · 10⁴ + offset`` must fit torch's 64-bit generator seed) and :data:`INT_MAX` for any other.
The same validation runs in the runner (before a kernel starts) and in each notebook's validation cell (for a
reader who edits the parameters by hand).
"""
from __future__ import annotations

import ast
import json
import math
import operator
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import yaml

PROFILES = ("smoke", "book", "paper")
_SCALAR = {"int": int, "float": float, "bool": bool, "str": str}
#: largest seed: provenance seeds generators with seed · 10⁴ + offset, which must stay below 2⁶³
SEED_MAX = (2**63 - 1) // 10_000 - 1
#: largest value of an int without a declared ``max`` (sizes and step counts far beyond any run)
INT_MAX = 2**31 - 1
#: default limit of a notebook's estimated largest allocation (bytes); ``--allow-large`` lifts it
MEMORY_LIMIT = 8 * 2**30


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
        if len(value) > decl.get("max_len", len(value)):
            raise ParameterError(f"parameter {name!r} takes at most {decl['max_len']} element(s), got {len(value)}")
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
    if "gt" in decl and not value > decl["gt"]:
        raise ParameterError(f"parameter {name!r} must be > {decl['gt']}, got {value!r}")
    if "lt" in decl and not value < decl["lt"]:
        raise ParameterError(f"parameter {name!r} must be < {decl['lt']}, got {value!r}")
    if py is int and "max" not in decl:
        cap = SEED_MAX if name.split("[")[0] == "seed" else INT_MAX
        if value > cap:
            raise ParameterError(f"parameter {name!r} must be ≤ {cap}, got {value!r}")
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


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b,
           ast.NotIn: lambda a, b: a not in b}
_FUNCS = {"min": min, "max": max, "len": len, "sum": sum, "abs": abs, "sorted": sorted}


def evaluate(expr: str, values: Mapping[str, Any]):
    """Evaluate a constraint or memory expression over parameter ``values`` by walking its syntax tree: only
    names, numbers, list literals, arithmetic, comparisons, ``and``/``or``/``not`` and :data:`_FUNCS`."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ParameterError(f"rule {expr!r} names {node.id!r}, which is not a parameter")
            return values[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else not ev(node.operand)
        if isinstance(node, ast.BoolOp):
            parts = (ev(v) for v in node.values)
            return all(parts) if isinstance(node.op, ast.And) else any(parts)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, right in zip(node.ops, node.comparators):
                right = ev(right)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords):
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise ParameterError(f"rule {expr!r}: {type(node).__name__} is not allowed in a parameter rule")

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ParameterError(f"rule {expr!r} does not parse") from None
    return ev(tree)


def _check_constraints(notebook: str, values: dict) -> None:
    """Cross-parameter constraints: the ``constraints`` list of the profile file."""
    for expr in notebook_spec(notebook).get("constraints", []):
        if not evaluate(expr, values):
            names = sorted(n for n in values if n in {x.id for x in ast.walk(ast.parse(expr)) if isinstance(x, ast.Name)})
            shown = ", ".join(f"{n}={values[n]!r}" for n in names)
            raise ParameterError(f"parameters must satisfy {expr} ({shown})")


def memory_estimate(notebook: str, values: Mapping[str, Any]) -> int | None:
    """Estimated bytes of the notebook's largest allocation (its ``memory`` expression), None if undeclared."""
    expr = notebook_spec(notebook).get("memory")
    return None if expr is None else int(evaluate(expr, values))


def check_memory(notebook: str, values: Mapping[str, Any], limit: int | None = MEMORY_LIMIT) -> int | None:
    """Refuse parameters whose estimated largest allocation exceeds ``limit`` bytes (None: no limit)."""
    need = memory_estimate(notebook, values)
    if need is not None and limit is not None and need > limit:
        raise ParameterError(f"notebook {notebook!r}: the parameters need about {need / 2**30:.1f} GiB for the "
                             f"largest tensor, above the {limit / 2**30:.0f} GiB limit; pass --allow-large to run anyway")
    return need


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
