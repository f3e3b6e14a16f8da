"""`make bench`: the embedded stack under load, measured against bare Temporal in the same run.

Results go to bench/results/latest.json; what they mean is in docs/performance.md.
"""
