"""Search over the library: hybrid retrieval, answerability, retrieval metrics."""
