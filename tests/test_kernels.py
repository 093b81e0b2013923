"""The warm-up of serial runs: what it imports, and that it leaves the notebook's namespace as a cold kernel has it."""
from lora_companion.book import notebook_path
from lora_companion.kernels import BASE_MODULES, WARMUP, warm_modules


def test_warm_modules_are_the_notebooks_own_imports():
    names = warm_modules(notebook_path("lora_one/real_minilm"))
    assert names[:len(BASE_MODULES)] == list(BASE_MODULES) and len(names) == len(set(names))
    assert "lora_companion.experiments.real_model.lora_one" in names   # `from … import lora_one as E`
    assert "myst_nb" in names and "lora_companion.figures" in names


def test_warm_up_binds_no_name():
    namespace: dict = {}
    exec(WARMUP.format(names=["json", "lora_companion.notebook.start", "no_such_module_anywhere"]), namespace)
    assert set(namespace) == {"__builtins__"}
