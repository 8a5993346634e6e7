"""Scores and their breakdowns.

- :mod:`ser_lib.evaluation.metrics`  WA, UA, F1, confusion, intervals, fold summaries
- :mod:`ser_lib.evaluation.breakdown`  per-clip predictions, by sex / intensity / listeners
- :mod:`ser_lib.evaluation.explore`  data exploration summaries
"""
