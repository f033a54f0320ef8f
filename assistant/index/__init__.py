"""The indexes: the embedders (bundled MiniLM or an OpenAI-compatible endpoint), BM25, token counting."""
