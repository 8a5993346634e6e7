"""From run records to the report. Its modules are listed in the module map of :mod:`ser_lib`."""
