"""Models, their training and the shipped predictor.

- :mod:`ser_lib.models.models`  the original works' CNNs
- :mod:`ser_lib.models.training`  one fold of a Keras model, the fold result and the one summariser
- :mod:`ser_lib.models.croptrain`  the shared crop trainer (early stopping on validation actors, determinism)
- :mod:`ser_lib.models.crnn`  the CRNN
- :mod:`ser_lib.models.wader`  WaDER as published
- :mod:`ser_lib.models.wader_converged`  WaDER trained to convergence
- :mod:`ser_lib.models.linear`  openSMILE + linear models
- :mod:`ser_lib.models.fusion`  late fusion chosen on validation actors
- :mod:`ser_lib.models.crosscorpus`  training on one corpus, testing on the other
- :mod:`ser_lib.models.bundle`  the pickle-free model bundle
- :mod:`ser_lib.models.predict`  ``python -m ser_lib predict``
- :mod:`ser_lib.models.tf_logging`  quiet TensorFlow start-up
"""
