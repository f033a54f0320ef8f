"""`python -m ui.cli`: the same commands as the `papers` console script."""

from ui.cli import main

main()
