"""lora_companion: the mathematics behind *LoRA Theory, Reproduced*.

Modules: ``lora`` (factor containers), ``linalg`` (ranks, nuclear norm, SVT, principal angles, Pataki bound),
``linearize`` (NTK features with torch.func), ``train`` (batched trainer), ``claims``, ``figures``, ``params``,
``provenance``, ``runner`` and ``cli``; one module per chapter under ``experiments``.
"""
__version__ = "0.1.0"
