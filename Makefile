# Set-up on a fresh machine is part of every target: `make book` and `make test` need nothing installed first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install book test record clean pdf
install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

book: install          ## strict HTML build of the committed record: _build/html/index.html
	$(BIN)/lora-companion build

test: install          ## unit tests, runner tests, nbval over every notebook, strict book build
	$(BIN)/pytest -n 2 --dist loadfile

record: install        ## re-execute every notebook at the book profile, rewriting book/ (then review and commit)
	$(BIN)/lora-companion record

clean:
	rm -rf _build runs

pdf: install           ## the whole book as one PDF (XeLaTeX; install TeX once with `sudo scripts/install-tex.sh`)
	$(BIN)/jupyter-book build . --builder pdflatex
	@echo "PDF: _build/latex/lora-companion.pdf"
