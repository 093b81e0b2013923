"""Accepted extremes execute (issue 13.2): every notebook's smoke profile with each scalar parameter pushed to its
declared extreme — sizes and counts to their minimum, floats to their minimum, the seed to its maximum — must
execute without an error in the kernel and print valid claims. Parameters are pushed one at a time, in declaration
order, and a push is kept only if the notebook's cross-parameter rules still accept it (a rule that refuses it is
itself the boundary); the just-outside values are refused by validation in tests/test_params.py."""
import math

import pytest

from lora_companion import params, runner
from lora_companion.book import notebooks
from lora_companion.claims import VERDICTS


def extremes(nb: str) -> dict:
    """The smoke profile with every scalar int/float parameter at its declared extreme, as far as the rules allow."""
    spec = params.notebook_spec(nb)["params"]
    values = {**runner.notebook_defaults(nb), **params.profile_overrides(nb, "smoke")}
    pushed = {}
    for name, decl in spec.items():
        if decl["type"] == "int":
            target = params.SEED_MAX if name == "seed" else decl.get("min")
        elif decl["type"] == "float":
            target = decl.get("min", decl.get("gt"))
            if target is not None and "gt" in decl and "min" not in decl:
                target = math.nextafter(float(target), math.inf)
        else:
            continue
        if target is None or target == values[name]:
            continue
        trial = {**values, name: target}
        try:
            params.validate(nb, trial)
        except params.ParameterError:
            continue
        values, pushed[name] = trial, target
    return pushed


@pytest.mark.parametrize("nb", notebooks())
def test_smoke_profile_executes_at_the_declared_extremes(nb, tmp_path):
    pushed = extremes(nb)
    jobs = runner.plan(nb, "smoke", [(k, repr(v) if isinstance(v, float) else str(v)) for k, v in pushed.items()])
    results = runner.run(jobs, tmp_path / "run", "smoke", progress=False, log=lambda *a: None)
    assert results["claims"], f"{nb} at {pushed}: no claims printed"
    for c in results["claims"]:
        assert c["verdict"] in VERDICTS, (nb, c["id"], c["verdict"])
