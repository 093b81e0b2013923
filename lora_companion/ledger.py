"""The validated ledger: every claim read back from a notebook or a ``results.json`` is checked before anyone uses it.

Two checks, both without executing anything:

* **schema**: each record has the fields of :class:`lora_companion.claims.Claim` with their types, a verdict in
  :data:`~lora_companion.claims.VERDICTS`, a kind in :data:`~lora_companion.claims.KINDS`, a ``source`` for
  theorem/empirical claims and measured hypotheses for theorems (JSON Schema, :data:`CLAIM_SCHEMA`);
* **manifest**: the claim ids a notebook's code declares — the literal first argument of every ``check("<id>", …)``
  call in its code cells and in the ``lora_companion`` modules it imports (followed transitively through the
  package's own imports), found with :mod:`ast`. A recorded id that no code declares is refused; a declared id
  missing from the record of the notebooks that import it is refused (a deleted claims output), as is a notebook
  whose code reports claims but whose record holds none.

A failure raises :class:`LedgerError` with one line naming the notebook and the claim.
"""
from __future__ import annotations

import ast
import json
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import nbformat

from .claims import KINDS, METADATA_KEY, VERDICTS

PACKAGE = Path(__file__).resolve().parent

_NUMBER_OR_TEXT = {"type": ["number", "string", "boolean"]}  # a bool is an int to Claim
_TEXT_OR_NULL = {"type": ["string", "null"]}
CLAIM_SCHEMA = {
    "type": "object",
    "required": ["id", "paper", "statement", "test", "measured", "verdict", "kind", "source", "hypotheses",
                 "seeds", "interval", "interval_method", "model", "figure", "chapter", "notebook"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
        "paper": {"type": "string", "minLength": 1},
        "statement": {"type": "string"},
        "test": {"type": "string"},
        "measured": _NUMBER_OR_TEXT,
        "verdict": {"enum": list(VERDICTS)},
        "kind": {"enum": list(KINDS)},
        "source": _TEXT_OR_NULL,
        "hypotheses": {"type": "array", "items": {
            "type": "object", "required": ["name", "measured", "holds"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "measured": _NUMBER_OR_TEXT, "holds": {"type": "boolean"}}}},
        "seeds": {"type": ["integer", "null"], "minimum": 1},
        "interval": {"oneOf": [{"type": "null"},
                               {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}]},
        "interval_method": _TEXT_OR_NULL,
        "model": _TEXT_OR_NULL,
        "figure": _TEXT_OR_NULL,
        "chapter": {"type": "string"},
        "notebook": {"type": "string"},
        "run": {"type": "string"},   # in a sweep's results: the seed's folder
    },
    "allOf": [
        {"if": {"properties": {"kind": {"enum": ["theorem", "empirical"]}}},
         "then": {"properties": {"source": {"type": "string", "minLength": 1}}}},
        {"if": {"properties": {"kind": {"const": "theorem"}}},
         "then": {"properties": {"hypotheses": {"minItems": 1}}}},
    ],
}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["profile", "notebooks", "claims", "figures"],
    "properties": {
        "profile": {"type": "string"},
        "notebooks": {"type": "array", "items": {"type": "object", "required": ["notebook", "file", "parameters"]}},
        "claims": {"type": "array", "items": CLAIM_SCHEMA},
        "figures": {"type": "array"},
    },
}
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)+")
_VALIDATOR = jsonschema.Draft202012Validator(CLAIM_SCHEMA)


class LedgerError(ValueError):
    """A claim record that is malformed, forged, missing or unreadable; the message names the notebook."""


def _where(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return f"{path}: {error.message}" if path else error.message


def validate_claim(record, where: str) -> dict:
    """Check one claim record against :data:`CLAIM_SCHEMA`; ``where`` (a notebook or file) names it in errors."""
    error = next(iter(sorted(_VALIDATOR.iter_errors(record), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        cid = record.get("id", "?") if isinstance(record, dict) else "?"
        raise LedgerError(f"{where}: claim {cid!r} is invalid: {_where(error)}")
    return record


def _check_calls(tree: ast.AST) -> tuple[set[str], list[str]]:
    """Literal ids and f-string id patterns (as regexes) of ``check(...)`` calls in a syntax tree; every other
    hyphenated kebab-case literal (an id a claim helper receives as an argument or default and forwards to
    ``check``) becomes the pattern of exactly that id: allowed in the record, not required by it."""
    ids, patterns, passed = set(), [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _ID.fullmatch(node.value):
            passed.add(node.value)
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            if name == "check":
                ids.add(first.value)
        elif name == "check" and isinstance(first, ast.JoinedStr):
            patterns.append("".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+"
                                    for v in first.values))
    return ids, patterns + [re.escape(p) for p in sorted(passed)]


def _imported_modules(tree: ast.AST, package: str | None) -> set[str]:
    """Dotted names of ``lora_companion`` modules a syntax tree imports (``from .x import y`` resolved)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "lora_companion"}


def _module_file(module: str) -> Path | None:
    parts = module.split(".")[1:]
    if not parts:
        return None
    rel = Path(*parts)
    for path in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=None)
def _module_declarations(module: str) -> tuple[frozenset, tuple]:
    """Ids and id patterns declared in ``module`` and every package module it imports, transitively."""
    ids, patterns, seen, todo = set(), [], set(), [module]
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        seen.add(name)
        tree = ast.parse(path.read_text(), str(path))
        found, pats = _check_calls(tree)
        ids |= found
        patterns += pats
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        todo += sorted(_imported_modules(tree, package) - seen)
    return frozenset(ids), tuple(patterns)


def declared(nb, name: str) -> tuple[set[str], list[str], bool]:
    """The manifest of a notebook: claim ids and id patterns its code declares, and whether it reports claims."""
    ids, patterns, reports = set(), [], False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            raise LedgerError(f"notebook {name}: a code cell does not parse") from None
        found, pats = _check_calls(tree)
        ids |= found
        patterns += pats
        reports |= "report" in source
        for module in _imported_modules(tree, None):
            mids, mpats = _module_declarations(module)
            ids |= mids
            patterns += mpats
    return ids, patterns, reports and bool(ids or patterns)


def read_notebook(path: Path, name: str):
    """Read a committed notebook; a missing, truncated or invalid file is a :class:`LedgerError` naming it."""
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise LedgerError(f"notebook {name}: {path} not found") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise LedgerError(f"notebook {name}: {path} is not a readable notebook ({type(err).__name__})") from None


def notebook_claims(nb, name: str) -> list[dict]:
    """The validated claims of one executed notebook: schema-checked, each id declared by its code, unique."""
    ids, patterns, reports = declared(nb, name)
    records = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            stored = out.get("metadata", {}).get(METADATA_KEY)
            if stored is None:
                continue
            if not isinstance(stored, list):
                raise LedgerError(f"notebook {name}: claims output is not a list")
            records += stored
    if reports and not records:
        raise LedgerError(f"notebook {name}: its code reports claims but the record holds none "
                          "(deleted or never executed claims output)")
    seen = set()
    for r in records:
        validate_claim(r, f"notebook {name}")
        if r["id"] in seen:
            raise LedgerError(f"notebook {name}: claim {r['id']!r} appears twice")
        seen.add(r["id"])
        if r["id"] not in ids and not any(re.fullmatch(p, r["id"]) for p in patterns):
            raise LedgerError(f"notebook {name}: claim {r['id']!r} is declared by none of its code")
        if r["notebook"] != name:
            raise LedgerError(f"notebook {name}: claim {r['id']!r} says it belongs to notebook {r['notebook']!r}")
    return records


def book_claims(names: list[str], path_of, complete: bool = True) -> list[dict]:
    """Every validated claim of the notebooks ``names`` (``path_of(name)`` → file), in order.

    Beyond :func:`notebook_claims`: ids are unique across the book, and every id declared literally (``check("id"``)
    by the code of the notebooks appears in the record of one of them (so a deleted claims output never shortens
    the list) when ``complete`` (the whole book: helper modules are shared by several notebooks).
    """
    claims, owner, declarers = [], {}, {}
    for name in names:
        nb = read_notebook(path_of(name), name)
        records = notebook_claims(nb, name)
        for cid in declared(nb, name)[0]:
            declarers.setdefault(cid, []).append(name)
        for r in records:
            if r["id"] in owner:
                raise LedgerError(f"notebook {name}: claim {r['id']!r} is also recorded by {owner[r['id']]}")
            owner[r["id"]] = name
        claims += records
    for cid in sorted(set(declarers) - set(owner)):
        if complete:
            raise LedgerError(f"notebook {declarers[cid][0]}: claim {cid!r} is declared by its code but missing "
                              "from the record (deleted claims output?)")
    return claims


def load_results(path: Path) -> dict:
    """Read and validate a run folder's ``results.json``."""
    try:
        results = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LedgerError(f"{path} not found: not a run folder") from None
    except (OSError, ValueError) as err:
        raise LedgerError(f"{path} is not readable JSON ({type(err).__name__})") from None
    error = next(iter(jsonschema.Draft202012Validator(RESULTS_SCHEMA).iter_errors(results)), None)
    if error is not None:
        raise LedgerError(f"{path}: {_where(error)}")
    return results
