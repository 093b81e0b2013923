#!/usr/bin/env bash
# TeX for the PDF book (Jupyter Book's LaTeX builder, XeLaTeX), from Debian's packages. Needs root (or sudo).
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
  texlive-plain-generic texlive-fonts-extra texlive-science latexmk fonts-freefont-otf fonts-dejavu-core lmodern xindy
