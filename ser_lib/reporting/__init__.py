"""From run records to the report.

- :mod:`ser_lib.reporting.report`  run bookkeeping in a notebook, reading the records
- :mod:`ser_lib.reporting.record`  the typed run record the pipeline writes
- :mod:`ser_lib.reporting.notebook`  the cells every experiment notebook shares
- :mod:`ser_lib.reporting.plots`  figures
- :mod:`ser_lib.reporting.summary`  the summary stage's tables and RESULTS.md
- :mod:`ser_lib.reporting.findings`  headline, stated findings and chart (index and RESULTS.md)
- :mod:`ser_lib.reporting.frontpage`  reports/index.html
- :mod:`ser_lib.reporting.recordpage`  one page per record
- :mod:`ser_lib.reporting.wader_account`  why WaDER is not at 74 %
"""
