"""Reports built from the papers themselves: comparison tables (`reports.compare`) and literature
summaries (`reports.summary`), with their output formats in `reports.exports`.

Both read paper text through `reports.sources`, quote it verbatim, and follow the one fallback
policy of assistant.llm.fallback: the LLM when one is given and works, else the extractive report
with the reason.
"""
