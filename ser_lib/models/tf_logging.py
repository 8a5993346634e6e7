"""TensorFlow's logging, quietened before it is imported (models, training, WaDER, predict)."""

from __future__ import annotations

import os


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up logging and absl warnings (call before importing it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # e.g. tf.function retracing warnings
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
