#!/bin/sh
# Rebuilds the citation-graph fixture PDFs from their LaTeX sources (only needed to change them: the
# committed .pdf files are what the tests read). Four papers: dense and reading cite routing (by DOI,
# by title + year), reading cites dense (by arXiv id); routing, dense and reading all cite a paper that
# is not among them (Citation Context Embeddings, arXiv:1907.01234), dense and reading a second one
# (by DOI); ocean cites a different, older work that shares dense's title (must not link).
# Debian packages: texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
set -eu
cd "$(dirname "$0")"
for doc in routing dense reading ocean; do
    pdflatex -interaction=nonstopmode -halt-on-error "$doc.tex" >/dev/null
    pdflatex -interaction=nonstopmode -halt-on-error "$doc.tex" >/dev/null
    rm -f "$doc.aux" "$doc.log" "$doc.out"
done
