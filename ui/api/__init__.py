"""The REST API face (`papers serve`): a FastAPI app over the same `Engine` the CLI and the pages use.

`app.py` builds it from Settings; `auth.py` (API keys, read vs write), `limits.py` (body size, per-key
rate), `jobs.py` (the one writer thread: every write is a queued job), `uploads.py` (uploaded files and
JSON records as loader input), `schemas.py` (request bodies), `routes_library.py` and `routes_answers.py`.
"""
