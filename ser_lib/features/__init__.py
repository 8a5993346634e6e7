"""From audio to model inputs.

- :mod:`ser_lib.features.features`  the original works' frame-level series and the log-mel image
- :mod:`ser_lib.features.melspec`  log-mel of each clip's own frames, crops and windows
- :mod:`ser_lib.features.wavelet`  the Morlet CWT store of WaDER
- :mod:`ser_lib.features.smile`  openSMILE functionals
- :mod:`ser_lib.features.normalise`  global and per-speaker normalisation
- :mod:`ser_lib.features.augment`  on-the-fly training augmentation
- :mod:`ser_lib.features.clipcache`  per-clip feature caches
- :mod:`ser_lib.features.vad`  speech activity (Silero VAD) for predict
- :mod:`ser_lib.features.vad_calibration`  how the VAD thresholds were measured
"""
