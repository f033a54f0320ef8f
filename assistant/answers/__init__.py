"""Cited answers: evidence, citations, conversation memory, the prompt budget and the verification core."""
