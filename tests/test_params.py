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
    ({"tau": -1.0}, "parameter 'tau' must be ≥ 0.0"),
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
