"""Models, their training and the shipped predictor. Its modules are listed in the module map of :mod:`ser_lib`."""
