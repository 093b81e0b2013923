import pytest

from lora_companion.params import ParameterError, parse_cli_value, profile_overrides, validate

NB = "preliminaries"
GOOD = dict(seed=0, m=10, n=8, rank=3, n_matrices=2, n_random=4, tau=1.0)


def test_valid_values_pass_and_ints_widen_to_float():
    assert validate(NB, {**GOOD, "tau": 2}) == {**GOOD, "tau": 2.0}


@pytest.mark.parametrize("change, message", [
    ({"bogus": 1}, "unknown parameter 'bogus'"),
    ({"seed": "0"}, "parameter 'seed' must be int"),
    ({"seed": True}, "parameter 'seed' must be int"),
    ({"m": 1}, "parameter 'm' must be ≥ 2"),
    ({"n": -5}, "parameter 'n' must be ≥ 2"),
    ({"tau": float("nan")}, "parameter 'tau' must be finite"),
    ({"tau": -1.0}, "parameter 'tau' must be ≥ 0.001"),
    ({"tau": 0.0}, "parameter 'tau' must be ≥ 0.001"),
    ({"seed": 2**64}, "parameter 'seed' must be ≤"),
    ({"rank": 9}, r"rank <= min\(m, n\)"),
])
def test_bad_values_name_the_parameter(change, message):
    with pytest.raises(ParameterError, match=message):
        validate(NB, {**GOOD, **change})


def test_missing_parameter_unless_partial():
    with pytest.raises(ParameterError, match="'tau'"):
        validate(NB, {k: v for k, v in GOOD.items() if k != "tau"})
    assert validate(NB, {"seed": 4}, partial=True) == {"seed": 4}


def test_cli_strings_are_parsed_by_declared_type():
    assert parse_cli_value(NB, "seed", "3") == 3
    assert parse_cli_value(NB, "tau", "0.5") == 0.5
    with pytest.raises(ParameterError, match="'seed' must be int"):
        parse_cli_value(NB, "seed", "three")
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        parse_cli_value(NB, "nope", "1")


def test_profiles():
    assert profile_overrides(NB, "book") == {}
    assert profile_overrides(NB, "smoke")["n_random"] < GOOD["n_random"] * 100
    with pytest.raises(ParameterError, match="profile"):
        profile_overrides(NB, "huge")


# --- the boundary test (issue 13.2): every declared parameter of every notebook, derived from the profile YAML ---
import math  # noqa: E402

from lora_companion import params, runner  # noqa: E402
from lora_companion.book import notebooks  # noqa: E402

CASES = [(nb, name) for nb in notebooks() for name in params.notebook_spec(nb)["params"]]


def _edges(name: str, decl: dict):
    """(accepted, refused) values of one scalar at the edges of its declared bounds."""
    kind = decl["type"].removeprefix("list[").removesuffix("]")
    ok, bad = [], []
    if kind == "int":
        cap = decl.get("max", params.SEED_MAX if name == "seed" else params.INT_MAX)
        ok += [cap]
        bad += [cap + 1]
        if "min" in decl:
            ok.append(decl["min"])
            bad.append(decl["min"] - 1)
        if "gt" in decl:
            bad.append(decl["gt"])
    elif kind == "float":
        for key, accepted in (("min", True), ("max", True), ("gt", False), ("lt", False)):
            if key in decl:
                (ok if accepted else bad).append(float(decl[key]))
        if "min" in decl:
            bad.append(math.nextafter(float(decl["min"]), -math.inf))
        if "max" in decl:
            bad.append(math.nextafter(float(decl["max"]), math.inf))
        bad += [math.nan, math.inf]
    elif "choices" in decl:
        ok += list(decl["choices"])
        bad.append("not-a-choice")
    return ok, bad


@pytest.mark.parametrize("nb, name", CASES, ids=[f"{nb}:{n}" for nb, n in CASES])
def test_every_parameter_at_its_edges(nb, name):
    """Min, max and just-outside values of each declared parameter: accepted values pass the per-value check,
    refused ones raise a ParameterError naming the parameter. Every int has a maximum."""
    decl = params.notebook_spec(nb)["params"][name]
    ok, bad = _edges(name, decl)
    listy = decl["type"].startswith("list[")
    wrap = (lambda v: [v] * max(1, decl.get("min_len", 1))) if listy else (lambda v: v)  # noqa: E731
    for v in ok:
        params.validate(nb, {name: wrap(v)}, partial=True)
    for v in bad:
        with pytest.raises(ParameterError, match=repr(name) if not listy else f"'{name}\\["):
            params.validate(nb, {name: wrap(v)}, partial=True)
    if listy and decl.get("min_len", 1) > 1:
        with pytest.raises(ParameterError, match=f"'{name}' needs at least"):
            params.validate(nb, {name: wrap(ok[0])[:-1]}, partial=True)
    if listy and "max_len" in decl:
        with pytest.raises(ParameterError, match=f"'{name}' takes at most"):
            params.validate(nb, {name: [ok[0]] * (decl["max_len"] + 1)}, partial=True)


@pytest.mark.parametrize("nb", notebooks())
def test_rules_evaluate_without_eval_on_every_profile(nb):
    for profile in params.PROFILES:
        values = params.validate(nb, {**runner.notebook_defaults(nb), **params.profile_overrides(nb, profile)})
        for expr in params.notebook_spec(nb).get("constraints", []):
            assert params.evaluate(expr, values) is True
        need = params.memory_estimate(nb, values)
        assert need is None or need > 0


def test_safe_evaluator_refuses_code():
    for expr in ("__import__('os').system('true')", "m.__class__", "(lambda: 1)()", "[x for x in m]"):
        with pytest.raises(ParameterError, match="rule"):
            params.evaluate(expr, {"m": 3})
    assert params.evaluate("2 * r <= min(d_sweep + [d])", {"r": 2, "d_sweep": [8, 16], "d": 4})


@pytest.mark.parametrize("nb", notebooks())
def test_every_notebook_declares_its_memory(nb):
    """Issue 13.2's resource guard needs an estimate for every notebook, evaluable at every profile."""
    assert "memory" in params.notebook_spec(nb), f"{nb}: no memory expression in its profile YAML"
    for profile in params.PROFILES:
        values = params.validate(nb, {**runner.notebook_defaults(nb), **params.profile_overrides(nb, profile)})
        assert params.memory_estimate(nb, values) > 0
