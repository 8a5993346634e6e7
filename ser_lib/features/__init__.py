"""From audio to model inputs. Its modules are listed in the module map of :mod:`ser_lib`."""
