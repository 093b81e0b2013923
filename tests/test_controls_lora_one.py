"""Controls of the LoRA-One chapter's claims: each decision function, fed constructed results (curves, spectra,
per-seed measurements), must say ``reproduced`` where the claimed property holds and ``not reproduced`` on a
counterexample. The real-model notebook's claims (loraone-minilm-*) are controlled by their own test file."""
import torch
from controls import make_tests

from lora_companion.experiments import lora_one as E

S = 8   # seeds of every constructed result


def noise(*shape, scale=0.02, seed=0):
    """Seed-to-seed jitter: 1 + small deterministic noise."""
    g = torch.Generator().manual_seed(seed)
    return 1 + scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def _alignment(leak=0.0, scale_order=True, d_order=True):
    steps = 5
    alpha = [1.0, 1e-2, 1e-4]
    lev = torch.tensor([0.99, 0.5, 0.1] if scale_order else [0.1, 0.5, 0.99], dtype=torch.float64)
    angle = (lev[None, :, None] * noise(steps + 1, 3, S)).clamp(max=1.0)
    res = E.AlignmentResult(alpha, angle, torch.full_like(angle, leak), angle.clone(), 1, 0.0)
    by_d = {}
    for i, d in enumerate([16, 32, 64]):
        a = (0.2 + 0.1 * (i if d_order else 2 - i)) * noise(steps + 1, 1, S, seed=i + 1)
        by_d[d] = E.AlignmentResult([1e-2], a, torch.zeros_like(a), a.clone(), 1, 0.0)
    return E.alignment_claims(res, by_d, 8, 4, 16)


def _one_step(rate=-0.5, need_power=2.0, relu_ratio=0.15):
    ratios, kappas = [2, 4, 8, 16, 32], [1.0, 2.0, 4.0, 8.0]
    q = torch.tensor(ratios, dtype=torch.float64)[:, None]
    err = 2 * q ** rate * noise(len(ratios), S)
    k = torch.tensor(kappas, dtype=torch.float64)[:, None]
    need = 4 * k ** need_power * noise(len(kappas), S, seed=1)
    relu = torch.stack([0.5 * noise(S, seed=2), 0.5 * relu_ratio * noise(S, seed=3)])
    return E.one_step_claims(E.OneStepResult(ratios, err, kappas, need, [2.0, 1024.0], [1.0, 2.0], relu, 4, 4))


def _kappa(pre_growth=1.0, gd_growth=4.0):
    kappas = [1.0, 100.0]
    seeds = {"gd": torch.stack([40 * noise(S), 40 * gd_growth * noise(S, seed=1)]),
             "precgd": torch.stack([13 * noise(S, seed=2), 13 * pre_growth * noise(S, seed=3)])}
    med = {o: v.median(-1).values for o, v in seeds.items()}
    res = E.KappaResult(kappas, {"gd": [0.5], "precgd": [0.5]}, med, {"gd": [0.5] * 2, "precgd": [0.5] * 2},
                        {o: torch.ones(2, 3) for o in seeds}, 1e-3, seeds, 16.0, 1.0)
    return E.kappa_claims(res)


def _contraction(factor=0.5, rho=0.01):
    t = torch.arange(61, dtype=torch.float64)[None, :, None]
    pre = 0.1 * factor ** t * noise(2, 1, S)
    res = E.ContractionResult([1.0, 2.0], 0.5, pre, pre.clone(), pre.clone(), [1.0, 1.0],
                              torch.full((2, S), rho, dtype=torch.float64),
                              torch.tensor([[2.0, 0.5], [2.0, 0.6]], dtype=torch.float64))
    return E.contraction_claims(res)


def _geometric(start, rate, steps=100):
    t = torch.arange(steps + 1, dtype=torch.float64)[:, None]
    return (start * rate ** t * noise(1, S, seed=int(100 * rate))).clamp(min=1e-16)


def _inits(ga_fails=True, gd_advantage=True, precond_erases=True):
    c = {"lora_one/precgd": _geometric(0.2, 0.5),
         "lora_ga/precgd": _geometric(1.0, 0.5) if not ga_fails else 0.5 * torch.ones(101, S),
         "lora_sb/precgd": 0.3 * torch.ones(101, S) if ga_fails else _geometric(1.0, 0.5),
         "pissa/precgd": torch.ones(101, S),
         "lora/precgd": _geometric(1.0, 0.45 if precond_erases else 0.95),
         "lora_one/gd": _geometric(0.2, 0.6),
         "lora/gd": _geometric(1.0, 0.93) if gd_advantage else _geometric(0.2, 0.6)}
    return E.init_claims(E.InitResult(c, {k: 0.5 for k in c}))


def _recipe(one_auc=-3.0):
    n = 4
    auc = torch.stack([-1.0 * noise(S)] + [one_auc * noise(S, seed=i + 1) for i in range(n - 1)])
    res = E.RecipeResult([f"c{i}" for i in range(n)], torch.ones(n), torch.ones(n, S), [0.01] * n,
                         torch.ones(n, 11), auc)
    return E.recipe_claims(res)


def _digits(gain=40.0, one_close=True):
    t = torch.arange(51, dtype=torch.float64)[:, None]
    full = (2.0 * 0.9 ** t) * noise(1, S)
    near, far = full * 1.2, full * 3.0
    loss = {"full": full, "lora_one": near if one_close else far, "lora": far if one_close else near,
            "lora_ga": full}
    res = E.DigitsResult(loss, {}, [0], {}, {}, [0], 0.0, [1.0], [gain], gain * noise(S, scale=0.1))
    return E.digits_claims(res)


def _portrait(spectral_closer=True, spectral_faster=True):
    """Fig. 3: start distances per init and relative-error curves (geometric decay from the start)."""
    near, far = 0.4 * noise(S), 2.0 * noise(S, seed=1)
    dist = {"spectral": near if spectral_closer else far, "lora": far if spectral_closer else near}
    fast, slow = _geometric(0.3, 0.7), _geometric(1.0, 0.95)
    errors = {"spectral": fast if spectral_faster else slow, "lora": slow if spectral_faster else fast}
    beta = torch.tensor([2.0, 1.0], dtype=torch.float64)
    return E.portrait_claims(E.PortraitResult(beta, {}, errors, dist, 0.05))


CONTROLS = {
    "loraone-fig3-closer": (lambda: _portrait(), lambda: _portrait(spectral_closer=False)),
    "loraone-fig3-fewer-steps": (lambda: _portrait(), lambda: _portrait(spectral_faster=False)),
    "loraone-b-row-space": (lambda: _alignment(), lambda: _alignment(leak=1e-3)),
    "loraone-a-align-init-scale": (lambda: _alignment(), lambda: _alignment(scale_order=False)),
    "loraone-a-align-dimension": (lambda: _alignment(), lambda: _alignment(d_order=False)),
    "loraone-one-step-rate": (lambda: _one_step(), lambda: _one_step(rate=-0.2)),
    "loraone-one-step-kappa": (lambda: _one_step(), lambda: _one_step(need_power=0.0)),
    "loraone-relu-gamma": (lambda: _one_step(), lambda: _one_step(relu_ratio=0.9)),
    "loraone-precond-kappa-free": (lambda: _kappa(), lambda: _kappa(pre_growth=8.0)),
    "loraone-relu-contraction": (lambda: _contraction(), lambda: _contraction(factor=0.97)),
    "loraone-relu-contraction-beyond": (lambda: _contraction(rho=1.0), lambda: _contraction(factor=0.97, rho=1.0)),
    "loraone-init-comparison": (lambda: _inits(), lambda: _inits(ga_fails=False)),
    "loraone-init-vs-random": (lambda: _inits(), lambda: _inits(gd_advantage=False)),
    "loraone-precond-erases-init": (lambda: _inits(), lambda: _inits(precond_erases=False)),
    "loraone-recipe-adam": (lambda: _recipe(), lambda: _recipe(one_auc=-0.5)),
    "loraone-digits-one-step": (lambda: _digits(), lambda: _digits(gain=5.0)),
    "loraone-digits-tracks-ft": (lambda: _digits(), lambda: _digits(one_close=False)),
}


def test_contraction_outside_hypotheses_is_inconclusive():
    """Thm 4.2 on an instance with ρ > 1/20: the theorem is silent, whatever the curves do."""
    c = next(c for c in _contraction(factor=0.97, rho=1.0) if c.id == "loraone-relu-contraction")
    assert c.verdict == "inconclusive"


test_positive_control, test_negative_control = make_tests(CONTROLS)
