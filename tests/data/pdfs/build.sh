#!/bin/sh
# Rebuilds the test PDFs from their LaTeX sources. Only needed to change the fixtures: the
# committed .pdf files are what the tests read, so neither the product nor the tests need TeX.
# Debian packages: texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
set -eu
cd "$(dirname "$0")"
for doc in twocol onecol nometa; do
    pdflatex -interaction=nonstopmode -halt-on-error "$doc.tex" >/dev/null
    pdflatex -interaction=nonstopmode -halt-on-error "$doc.tex" >/dev/null
    rm -f "$doc.aux" "$doc.log" "$doc.out"
done
