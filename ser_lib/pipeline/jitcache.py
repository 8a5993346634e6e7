"""numba's cache of librosa's compiled helpers: a folder per process, started warm.

The first time a process touches librosa's core, numba compiles about a dozen of its helpers
(``stft``'s ``__overlap_add``, ``util._localmax``, ``zero_crossings``, …): about 30 s of CPU on a
2-core machine, paid again by every process whose cache folder (``NUMBA_CACHE_DIR``) is new. Two
processes compiling into one folder at once can leave a corrupt index that segfaults every later
reader (seen 2026-12-04 in ``librosa.pyin``), so a process that runs beside others (a pytest
worker, a Dask worker of the pipeline, and the kernels each starts one at a time) gets a folder of
its own (:func:`claim`). ``make setup`` compiles the helpers the library uses once into a template
folder inside the environment (:func:`build_template`); :func:`claim` starts a new folder as a
copy of it, so that a fresh process finds them compiled. A template made for another librosa is
harmless: numba checks each entry against its source file and compiles again what changed.

Command line (``make setup`` runs it)::

    python -m ser_lib.pipeline.jitcache          # (re)build the template
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: The template folder: inside the environment, whose librosa and numba it was compiled for.
TEMPLATE = Path(sys.prefix) / "ser_lib-numba-template"

#: What the template is made of: one call to each librosa function the library uses whose
#: helpers numba compiles (``melspectrogram`` and ``mfcc`` through ``stft``; the effects and
#: features of the original works and of the recording conditions).
WARM_UP = """
import numpy as np, librosa
y = np.random.default_rng(0).standard_normal(16000).astype("float32")
librosa.feature.melspectrogram(y=y, sr=16000)
librosa.feature.mfcc(y=y, sr=16000)
librosa.feature.zero_crossing_rate(y)
librosa.feature.spectral_rolloff(y=y, sr=16000)
librosa.feature.rms(y=y)
librosa.effects.trim(y)
librosa.effects.split(y)
librosa.effects.time_stretch(y, rate=1.1)
librosa.effects.pitch_shift(y, sr=16000, n_steps=1)
librosa.resample(y, orig_sr=16000, target_sr=8000)
"""


def build_template(path: str | Path = TEMPLATE, *, code: str = WARM_UP) -> Path:
    """Compile librosa's helpers into ``path`` by running ``code`` in a child process (this one may
    have loaded numba with another cache folder), replacing any earlier template.

    Returns
    -------
    pathlib.Path
        The template folder.

    Raises
    ------
    RuntimeError
        When the child fails (its last error line is in the message).
    """
    path = Path(path)
    staging = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": str(staging)},
                          capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"compiling librosa's numba helpers failed: {last}")
    shutil.rmtree(path, ignore_errors=True)
    staging.rename(path)
    return path


def claim(folder: str | Path, *, template: str | Path = TEMPLATE) -> Path:
    """Make ``folder`` this process's numba cache (``NUMBA_CACHE_DIR``, inherited by the processes it
    starts), first as a copy of ``template`` where the folder is new and the template exists.

    ``folder`` must be this process's alone (e.g. named after its pid). Takes effect for numba
    loaded after the call: in this process if it has not imported numba yet, in its children always.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    folder, template = Path(folder), Path(template)
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        if template.is_dir():
            staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(template, staging)
            staging.rename(folder)
        else:
            folder.mkdir()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    return folder


def main() -> int:
    t0 = time.time()
    path = build_template()
    print(f"numba: librosa's helpers compiled once into {path} ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
