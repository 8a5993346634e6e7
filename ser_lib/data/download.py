"""``make data``: download the real corpora from their official sources and verify them.

* **CREMA-D** — each of the 7442 WAV files from the official GitHub repository's Git LFS
  media, plus its metadata CSVs, into ``<dest>/crema-d/AudioWAV`` and ``<dest>/crema-d/meta``.
* **RAVDESS speech** — ``Audio_Speech_Actors_01-24.zip`` from Zenodo record 1188976,
  extracted into ``<dest>/ravdess/Audio_Speech_Actors_01-24``.

Every audio file is checked against the SHA-256 lists shipped in ``ser_lib/resources``;
a file that does not match is deleted and reported, and the command exits non-zero.
Interrupted downloads resume from their ``.part`` file (HTTP range requests). Files already
present and verified are not fetched again.

The source addresses can be overridden (used by the tests, which serve a fake corpus on
127.0.0.1): ``CREMA_D_AUDIO_URL``, ``CREMA_D_META_URL``, ``RAVDESS_URL``.

Command line::

    python -m ser_lib.data.download [--dest data] [--corpus crema-d ravdess] [--workers 8]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib import resources
from pathlib import Path

import pandas as pd
from tqdm import tqdm

CREMA_D_AUDIO_URL = "https://media.githubusercontent.com/media/CheyneyComputerScience/CREMA-D/master/AudioWAV"
CREMA_D_META_URL = "https://raw.githubusercontent.com/CheyneyComputerScience/CREMA-D/master"
#: Metadata files: local name → path in the repository.
CREMA_D_META_FILES = {
    "VideoDemographics.csv": "VideoDemographics.csv",
    "SentenceFilenames.csv": "SentenceFilenames.csv",
    "summaryTable.csv": "processedResults/summaryTable.csv",
    "tabulatedVotes.csv": "processedResults/tabulatedVotes.csv",
}
RAVDESS_URL = "https://zenodo.org/record/1188976/files/Audio_Speech_Actors_01-24.zip"
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A file could not be downloaded, or did not match its checksum."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_manifest(name: str) -> pd.DataFrame:
    """A shipped checksum list: ``crema_d`` (name, sha256, size) or ``ravdess`` (path, sha256, size)."""
    text = resources.files("ser_lib").joinpath(f"resources/{name}_sha256.tsv").read_text()
    from io import StringIO

    return pd.read_csv(StringIO(text), sep="\t")


def download_file(url: str, dest: str | Path, *, sha256: str | None = None, size: int | None = None,
                  timeout: float = 60.0, progress: bool = False) -> Path:
    """Download ``url`` to ``dest``, resuming a partial ``dest.part``, and verify it.

    Parameters
    ----------
    url : str
    dest : path
    sha256, size : optional
        Expected digest and size; a mismatch deletes the file and raises.
    timeout : float
        Socket timeout in seconds.
    progress : bool
        Show a byte progress bar.

    Returns
    -------
    Path
        ``dest``, verified.

    Raises
    ------
    DownloadError
        Network or HTTP failure, or a checksum / size mismatch.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is None or have < size:
        request = urllib.request.Request(url, headers={"User-Agent": "ser_lib-download"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if have and response.status != 206:  # server ignored the range: start over
                    have = 0
                total = response.headers.get("Content-Length")
                total = int(total) + have if total is not None else size
                with open(part, "ab" if have else "wb") as out, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=dest.name,
                    disable=not progress, mininterval=1.0,
                ) as bar:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        out.write(block)
                        bar.update(len(block))
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # range not satisfiable: the part is complete
                pass
            else:
                raise DownloadError(f"{dest.name}: HTTP {exc.code} from {url}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DownloadError(f"{dest.name}: download failed ({exc}); run again to resume") from None
    if size is not None and part.stat().st_size != size:
        got = part.stat().st_size
        part.unlink()
        raise DownloadError(f"{dest.name}: size {got} bytes, expected {size}; corrupt file deleted")
    if sha256 is not None:
        digest = sha256_file(part)
        if digest != sha256:
            part.unlink()
            raise DownloadError(f"{dest.name}: SHA-256 {digest[:12]}… does not match the official "
                                f"{sha256[:12]}…; corrupt file deleted")
    part.replace(dest)
    return dest


def fetch_crema_d(dest_root: str | Path, *, audio_url: str | None = None, meta_url: str | None = None,
                  manifest: pd.DataFrame | None = None, workers: int = 8) -> list[str]:
    """Download and verify CREMA-D into ``<dest_root>/crema-d``. Returns the error messages."""
    audio_url = (audio_url or os.environ.get("CREMA_D_AUDIO_URL") or CREMA_D_AUDIO_URL).rstrip("/")
    meta_url = (meta_url or os.environ.get("CREMA_D_META_URL") or CREMA_D_META_URL).rstrip("/")
    manifest = load_manifest("crema_d") if manifest is None else manifest
    root = Path(dest_root) / "crema-d"
    errors = []
    for local, remote in CREMA_D_META_FILES.items():
        try:
            download_file(f"{meta_url}/{remote}", root / "meta" / local)
        except DownloadError as exc:
            errors.append(str(exc))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(download_file, f"{audio_url}/{r.name}", root / "AudioWAV" / r.name,
                               sha256=r.sha256, size=int(r.size)) for r in manifest.itertuples()]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="CREMA-D", unit="file"):
            try:
                fut.result()
            except DownloadError as exc:
                errors.append(str(exc))
    return errors


def fetch_ravdess(dest_root: str | Path, *, url: str | None = None,
                  manifest: pd.DataFrame | None = None) -> list[str]:
    """Download the RAVDESS speech zip, extract and verify it. Returns the error messages."""
    url = url or os.environ.get("RAVDESS_URL") or RAVDESS_URL
    manifest = load_manifest("ravdess") if manifest is None else manifest
    root = Path(dest_root) / "ravdess"
    expected = dict(zip(manifest["path"], manifest["sha256"]))
    todo = [p for p in expected if not ((root / p).is_file() and sha256_file(root / p) == expected[p])]
    if not todo:
        return []
    archive = root / "Audio_Speech_Actors_01-24.zip"
    try:
        download_file(url, archive, progress=True)
    except DownloadError as exc:
        return [str(exc)]
    errors = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {}
            for info in zf.infolist():
                # The zip holds Actor_NN/… at its top; keep the official folder name above it.
                rel = info.filename if info.filename.startswith("Audio_Speech") else \
                    f"Audio_Speech_Actors_01-24/{info.filename}"
                members[rel] = info
            for rel in tqdm(todo, desc="RAVDESS verify", unit="file"):
                if rel not in members:
                    errors.append(f"{rel}: missing from the archive")
                    continue
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(members[rel]) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                if sha256_file(target) != expected[rel]:
                    target.unlink()
                    errors.append(f"{rel}: SHA-256 does not match the official list; corrupt file deleted")
    except zipfile.BadZipFile:
        archive.unlink()
        return [f"{archive.name}: not a valid zip archive; deleted, run again to re-download"]
    if not errors:
        archive.unlink()  # everything extracted and verified
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.data.download", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", default=os.environ.get("DATA_ROOT", "data"), help="target folder (DATA_ROOT)")
    parser.add_argument("--corpus", nargs="+", default=["crema-d", "ravdess"], choices=["crema-d", "ravdess"])
    parser.add_argument("--workers", type=int, default=8, help="parallel CREMA-D downloads")
    args = parser.parse_args(argv)
    errors = []
    if "crema-d" in args.corpus:
        errors += fetch_crema_d(args.dest, workers=args.workers)
    if "ravdess" in args.corpus:
        errors += fetch_ravdess(args.dest)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} file(s) failed; run `make data` again to retry (downloads resume).", file=sys.stderr)
        return 1
    print(f"All files verified under {Path(args.dest).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
