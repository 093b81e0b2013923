"""Problem generators and step-size rules for the rank-1 experiments (Dayi & Chen, COLT 2025).

Setting (our reading; only the abstract is verified): x ~ N(0, I_d); base model f_{W0}(x) = Σ_i a_i σ(⟨w0_i, x⟩)
with k orthonormal rows scaled by 1/√(1+ρ²) and a_i = 1/√k; teacher W* = W0 + ξ 1_k v*ᵀ with ξ = ρ/√(1+ρ²), so
every row of the perturbation is ρ times its base row (ρ = 1: "comparable in norm") and the teacher's
pre-activations have unit variance, the scale at which the Hermite expansion of σ is read. The GLM baseline is
W0 = 0, ξ = 1: f*(x) = √k σ(⟨v*, x⟩), a single-index model whose information exponent is that of σ.
Step size η = c·B/(d κ) per run (batch B, κ from :func:`student_teacher.gradient_scale`).
"""
from __future__ import annotations

import itertools

import torch

from ... import student_teacher as st


def make_problem(acts: list[str], dims: list[int], ks: list[int], rho: list[float], glm: list[bool],
                 gen: torch.Generator, dtype=torch.float64, device="cpu") -> st.Problem:
    """One run per entry of the (equal-length) lists: activation, input dimension d, width k (padded to max k
    with a_i = 0), perturbation ratio ρ, and whether it is the GLM baseline (W0 = 0, ξ = 1)."""
    R, kmax = len(acts), max(ks)
    mask = st.dim_mask(dims, dtype, device)
    neuron = (torch.arange(kmax)[None, :] < torch.tensor(ks)[:, None]).to(dtype=dtype, device=device)
    rho_t = torch.tensor(rho, dtype=dtype, device=device)
    glm_t = torch.tensor(glm, device=device)
    scale = torch.where(glm_t, 0.0, 1 / (1 + rho_t.square()).sqrt())
    W0 = st.orthonormal_rows(R, kmax, mask, gen) * neuron[:, :, None] * scale[:, None, None]
    xi = torch.where(glm_t, 1.0, rho_t * (1 / (1 + rho_t.square()).sqrt()))
    a = neuron / torch.tensor(ks, dtype=dtype, device=device)[:, None].sqrt()
    return st.Problem(W0=W0, a=a, u_star=neuron.clone(), v_star=st.unit_vectors(R, mask, gen), xi=xi, mask=mask,
                      act=st.Activations(acts, dtype, device))


def step_sizes(problem: st.Problem, c: float, batch: int, gen: torch.Generator, n: int = 4000) -> torch.Tensor:
    """η_r = c·B/(d_r κ_r) with κ_r estimated on n fresh inputs."""
    kappa = st.gradient_scale(problem, problem.sample(n, gen), gen)
    return c * batch / (problem.dims * kappa)


def _grid(**axes) -> dict[str, list]:
    """Cartesian product of named axes as equal-length lists, one entry per run (the last axis varies fastest)."""
    names, values = list(axes), list(axes.values())
    rows = list(itertools.product(*values))
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}


def lora_step_u(problem: st.Problem, lr_v: torch.Tensor) -> torch.Tensor:
    """Step on u for rank-1 LoRA: η_u = η_v·d·ξ²/k (the loss curvature along u is ≈ κ k/(ξ² d) times smaller
    than along v, which carries the factor ‖x‖² ≈ d)."""
    return lr_v * problem.dims * problem.xi.square() / problem.a.ne(0).sum(-1)
