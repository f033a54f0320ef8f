"""Comparison tables: papers × aspects, every filled cell backed by a verbatim quote from its paper.

- `aspects`: the columns (names, aliases, cue lexicon from aspects.toml);
- `extractive`: the offline table, each cell the paper's own best sentence;
- `llm`: the table a chat model writes, each cell's quote checked against the paper;
- `pipeline`: `compare` and `select_papers`, the entry points.

Output formats (JSON, CSV, Markdown) are in assistant.reports.exports.
"""

from assistant.models import DEFAULT_ASPECTS, NOT_STATED
from assistant.reports.compare.aspects import Aspect, aspect_for, parse_aspects
from assistant.reports.compare.pipeline import compare, select_papers

__all__ = ["DEFAULT_ASPECTS", "NOT_STATED", "Aspect", "aspect_for", "compare", "parse_aspects", "select_papers"]
