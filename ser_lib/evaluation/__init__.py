"""Scores and their breakdowns. Its modules are listed in the module map of :mod:`ser_lib`."""
