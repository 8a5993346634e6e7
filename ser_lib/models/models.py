"""Keras builders for the seed work's architectures (shapes come from the data).

Each builder returns an uncompiled :class:`keras.Model`; :func:`compile_model` adds the
optimizer and loss. Names follow the report: ``cnn1d`` (seven 1-D experiments), ``cnn1d_big``
(energy+ZCR, wide), ``cnn2d_own`` and ``cnn2d_singh_fang`` (mel-spectrogram).
"""

from __future__ import annotations

from ser_lib.models.tf_logging import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, regularizers  # noqa: E402


def _conv1d_stack(input_shape, n_classes: int, *, filters, dropout: float, batch_norm: bool, name: str):
    """Three Conv1D (kernels 12, 8, 5) each followed by max pooling, Dense(64), dropout, softmax."""
    stack = [keras.Input(shape=tuple(input_shape))]
    for f, k in zip(filters, (12, 8, 5)):
        stack += [layers.Conv1D(f, k, activation="relu"), layers.MaxPooling1D(2, 2)]
    stack += [layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dropout(dropout)]
    stack += [layers.BatchNormalization()] if batch_norm else []
    return keras.Sequential([*stack, layers.Dense(n_classes, activation="softmax")], name=name)


def cnn1d(input_shape, n_classes: int) -> keras.Model:
    """Conv1D(16,12) → pool → Conv1D(24,8) → pool → Conv1D(24,5) → pool → Dense(64) → Dropout(0.2)."""
    return _conv1d_stack(input_shape, n_classes, filters=(16, 24, 24), dropout=0.2, batch_norm=False, name="cnn1d")


def cnn1d_big(input_shape, n_classes: int) -> keras.Model:
    """Conv1D(256,12) → pool → Conv1D(128,8) → pool → Conv1D(64,5) → pool → Dense(64) → Dropout(0.5) → BN."""
    return _conv1d_stack(input_shape, n_classes, filters=(256, 128, 64), dropout=0.5, batch_norm=True,
                         name="cnn1d_big")


def cnn2d_own(input_shape, n_classes: int) -> keras.Model:
    """Conv2D(16,7×7) → pool → BN → Conv2D(24,7×7) → pool → BN → Conv2D(24,7×7) → Dense(64, L2 1e-5) → BN → Dropout(0.2)."""
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        layers.Conv2D(16, (7, 7), activation="relu"), layers.MaxPooling2D(2), layers.BatchNormalization(),
        layers.Conv2D(24, (7, 7), activation="relu"), layers.MaxPooling2D(2), layers.BatchNormalization(),
        layers.Conv2D(24, (7, 7), activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(1e-5)),
        layers.BatchNormalization(), layers.Dropout(0.2),
        layers.Dense(n_classes, activation="softmax"),
    ], name="cnn2d_own")


def cnn2d_singh_fang(input_shape, n_classes: int) -> keras.Model:
    """After Singh & Fang: Conv2D(16,(12,6)) → pool → Conv2D(24,(8,12)) → pool → Conv2D(24,(5,7)) → Dense(64) → Dropout(0.2)."""
    return keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        layers.Conv2D(16, (12, 6), activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(24, (8, 12), activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(24, (5, 7), activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dropout(0.2),
        layers.Dense(n_classes, activation="softmax"),
    ], name="cnn2d_singh_fang")


ARCHITECTURES = {"cnn1d": cnn1d, "cnn1d_big": cnn1d_big, "cnn2d_own": cnn2d_own,
                 "cnn2d_singh_fang": cnn2d_singh_fang}


def build(architecture: str, input_shape, n_classes: int, *, learning_rate: float) -> keras.Model:
    """Build and compile an architecture (Adam, categorical cross-entropy, accuracy)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {sorted(ARCHITECTURES)}")
    if n_classes < 2:
        raise ValueError("need at least two classes")
    try:
        learning_rate = float(learning_rate)  # YAML 1.1 reads "1e-5" as a string
    except (TypeError, ValueError):
        raise ValueError(f"learning_rate must be a number, got {learning_rate!r}") from None
    model = ARCHITECTURES[architecture](input_shape, n_classes)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def summary_text(model: keras.Model) -> str:
    """``model.summary()`` as plain text (for the report)."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join(lines)


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one example's forward pass through the convolution and dense layers.

    Counted from the built layers' shapes: a convolution costs (output positions × filters) ×
    (kernel size × input channels), a dense layer (positions × units) × inputs. Pooling,
    normalisation and activations are left out (a few per cent at most for these networks).
    A training step costs about three forward passes (forward, and the gradients with respect to
    the inputs and to the weights), so training FLOPs ≈ 6 × multiply-adds per example and epoch.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, (layers.Conv1D, layers.Conv2D)):
            out = layer.output.shape[1:]
            in_channels = layer.input.shape[-1]
            total += int(np.prod(out)) * int(np.prod(layer.kernel_size)) * int(in_channels)
        elif isinstance(layer, layers.Dense):
            positions = int(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1
            total += positions * int(layer.input.shape[-1]) * int(layer.units)
    return total
