"""Controls of the real-model (all-MiniLM-L6-v2) claims: each decision function, fed constructed results, must say
``reproduced`` where the claimed property holds and ``not reproduced`` on a counterexample (see controls.py)."""
import torch
from controls import make_tests

from lora_companion.experiments.real_model import fails_loudly as F
from lora_companion.experiments.real_model import lora_one as L
from lora_companion.experiments.real_model import ntk as N

SEEDS = 6


def _lora_one(*, one_step_gain=0.05, lora_gap=0.5, lora_one_gap=0.1, energy=0.8, final_gain=0.05):
    """A LoRAOneResult whose statistics are set by hand (a small per-seed spread keeps the bootstrap honest)."""
    jit = torch.linspace(-0.05, 0.05, SEEDS)
    t = torch.arange(11.0)
    full = torch.exp(-0.2 * t).expand(SEEDS, -1)
    loss = {"full": full, "lora": full * torch.exp(torch.tensor(lora_gap) + jit)[:, None],
            "lora_one": full * torch.exp(torch.tensor(lora_one_gap) + jit)[:, None]}
    small = jit / 100
    acc = {"lora": torch.full((SEEDS, 2), 80.0), "lora_one": torch.full((SEEDS, 2), 80.0)}
    ce = {"lora": torch.full((SEEDS, 2), 0.4), "lora_one": (0.4 - final_gain + small)[:, None].expand(-1, 2)}
    pre, pre_ce = torch.full((SEEDS,), 80.0), torch.full((SEEDS,), 0.4)
    etas = [0.01, 0.1]
    os_loss = torch.tensor([[0.5, 0.4]]).expand(SEEDS, -1)         # η = 0.1 picked by the training loss
    os_test = pre[:, None].expand(-1, 2)
    os_ce = torch.stack([pre_ce + 0.1, pre_ce - one_step_gain + small], -1)
    return L.LoRAOneResult(("full", "lora", "lora_one"), loss, acc, ce, [0, 10], {}, pre, pre_ce, etas, os_loss,
                           os_test, os_ce, energy + jit, 8, 8 / 384)


def _ntk(worst_excess=0):
    Ns = [16, 32]
    pataki = [N.pataki_rank_bound(2 * n) for n in Ns]
    rank = torch.tensor(pataki)[None, :, None].expand(1, -1, 3) + worst_excess
    return N.NTKResult(Ns=Ns, K=2, m=32, n=384, lam_rels=[0.1], rank=rank, pataki=pataki,
                       certified=torch.ones(1, 2, 3, dtype=torch.bool), converged=torch.ones(1, 2, 3, dtype=torch.bool),
                       ridge_rank=torch.full((2, 3), 32))


def _loud(norm_ratio=4.0, acc_drop=3.0, srank_gain=2.0):
    jit = torch.linspace(-0.05, 0.05, SEEDS)
    ones = torch.ones(SEEDS)
    return F.LoudResult(scales=["standard", "large"], norm=torch.stack([ones, norm_ratio * ones + jit], -1),
                        stable_rank=torch.stack([2 * ones, (2 + srank_gain) * ones + jit], -1),
                        test_acc=torch.stack([85 * ones, (85 - acc_drop) * ones + jit], -1),
                        train_loss=torch.stack([0.1 * ones, 0.2 * ones], -1), curves=torch.zeros(SEEDS, 2, 3),
                        r=8, lam=1e-3)


CONTROLS = {
    "loraone-minilm-one-step": (lambda: L.lora_one_claims(_lora_one()),
                                lambda: L.lora_one_claims(_lora_one(one_step_gain=-0.05))),
    "loraone-minilm-tracks-full": (lambda: L.lora_one_claims(_lora_one()),
                                   lambda: L.lora_one_claims(_lora_one(lora_gap=0.1, lora_one_gap=0.5))),
    "loraone-minilm-alignment": (lambda: L.lora_one_claims(_lora_one()),
                                 lambda: L.lora_one_claims(_lora_one(energy=0.05))),
    "loraone-minilm-final-loss": (lambda: L.lora_one_claims(_lora_one()),
                                  lambda: L.lora_one_claims(_lora_one(final_gain=-0.05))),
    "ntk-minilm-rank-below-pataki": (lambda: N.ntk_claims(_ntk()), lambda: N.ntk_claims(_ntk(worst_excess=1))),
    "loud-minilm-large-init-norm": (lambda: F.loud_claims(_loud()), lambda: F.loud_claims(_loud(norm_ratio=0.5))),
    "loud-minilm-large-init-accuracy": (lambda: F.loud_claims(_loud()), lambda: F.loud_claims(_loud(acc_drop=-3.0))),
    "loud-minilm-large-init-rank": (lambda: F.loud_claims(_loud()), lambda: F.loud_claims(_loud(srank_gain=-1.0))),
}

test_positive_control, test_negative_control = make_tests(CONTROLS)


def test_seeds_needed_reads_each_claims_per_seed_statistic():
    """A large effect needs few seeds, an effect shrunk towards its threshold many more; the count is
    stats.seeds_for_power of the very samples the claim is decided on."""
    from lora_companion import stats

    res = _lora_one(final_gain=0.05)
    need = L.seeds_needed(res)
    assert set(need) == {"loraone-minilm-one-step", "loraone-minilm-tracks-full", "loraone-minilm-alignment",
                         "loraone-minilm-final-loss"}
    x, thr = L.paired_effects(res)["loraone-minilm-final-loss"]
    assert need["loraone-minilm-final-loss"][1] == stats.seeds_for_power(x, thr)
    weak = L.seeds_needed(_lora_one(final_gain=0.0002))["loraone-minilm-final-loss"]
    assert weak[1] > 10 * need["loraone-minilm-final-loss"][1] and weak[0] < need["loraone-minilm-final-loss"][0]
