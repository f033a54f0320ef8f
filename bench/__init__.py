"""`make bench`: the product's speed and memory goals measured against same-run baselines.

Layout: run.py (entry point) → sections/ (measurements, by `--only` name) → goals.py (the goal
table, checked and rendered once) → report.py (RESULTS.md, results.json). workers.py runs the
measurements that need a process of their own; common.py is the shared plumbing.
"""
