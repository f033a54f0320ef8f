"""Literature summaries: the papers on a topic, grouped into themes, every sentence cited.

- `themes`: clustering the papers (k by silhouette) and naming each theme by its terms;
- `extractive`: the offline text, the theme papers' own sentences each followed by [n];
- `llm`: the text a chat model writes (outline, a paragraph per theme, overview), uncited
  sentences dropped;
- `pipeline`: `summarize`, the entry point, which numbers references in order of first citation,
  so every [n] has a reference and every reference is cited.

Output formats (Markdown, JSON, BibTeX) are in assistant.reports.exports.
"""

from assistant.reports.summary.pipeline import DEFAULT_MAX_PAPERS, default_title, summarize, summary_papers
from assistant.reports.summary.themes import build_themes, cluster, theme_names

__all__ = [
    "DEFAULT_MAX_PAPERS",
    "build_themes",
    "cluster",
    "default_title",
    "summarize",
    "summary_papers",
    "theme_names",
]
