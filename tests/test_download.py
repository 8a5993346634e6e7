"""`make data` against a fake corpus served on 127.0.0.1 (range requests, resume, checksums)."""

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ser_lib.data import download

FILES = {f"100{i}_DFA_ANG_XX.wav": bytes([i]) * (5000 + 37 * i) for i in range(1, 4)}
META = {name: f"meta {name}\n".encode() for name in download.CREMA_D_META_FILES.values()}
ZIP_MEMBERS = {"Actor_01/03-01-01-01-01-01-01.wav": b"a" * 3000, "Actor_02/03-01-01-01-01-01-02.wav": b"b" * 4000}


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in ZIP_MEMBERS.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Server:
    """Serves /audio/<name>, /meta/<path>, /ravdess.zip with Range support; records requests."""

    def __init__(self, corrupt=()):
        self.routes = {f"/audio/{k}": v for k, v in FILES.items()}
        self.routes.update({f"/meta/{k}": v for k, v in META.items()})
        self.routes["/ravdess.zip"] = _zip_bytes()
        for name in corrupt:
            self.routes[f"/audio/{name}"] = b"x" * len(FILES[name])
        self.ranges = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                outer.ranges.append((self.path, rng))
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture()
def manifests():
    crema = pd.DataFrame([{"name": k, "sha256": hashlib.sha256(v).hexdigest(), "size": len(v)} for k, v in FILES.items()])
    rav = pd.DataFrame([{"path": f"Audio_Speech_Actors_01-24/{k}", "sha256": hashlib.sha256(v).hexdigest(), "size": len(v)}
                        for k, v in ZIP_MEMBERS.items()])
    return crema, rav


def test_shipped_manifests_cover_the_corpora():
    assert len(download.load_manifest("crema_d")) == 7442
    assert len(download.load_manifest("ravdess")) == 1440


def test_crema_d_download_verify_and_resume(tmp_path, manifests):
    server = Server()
    try:
        name = next(iter(FILES))
        part = tmp_path / "crema-d" / "AudioWAV" / f"{name}.part"
        part.parent.mkdir(parents=True)
        part.write_bytes(FILES[name][:1234])  # an interrupted download
        errors = download.fetch_crema_d(tmp_path, audio_url=f"{server.url}/audio", meta_url=f"{server.url}/meta",
                                        manifest=manifests[0], workers=2)
        assert errors == []
        for k, v in FILES.items():
            assert (tmp_path / "crema-d" / "AudioWAV" / k).read_bytes() == v
        assert (tmp_path / "crema-d" / "meta" / "summaryTable.csv").is_file()
        assert (f"/audio/{name}", "bytes=1234-") in server.ranges
        assert not part.exists()
        before = len(server.ranges)
        assert download.fetch_crema_d(tmp_path, audio_url=f"{server.url}/audio", meta_url=f"{server.url}/meta",
                                      manifest=manifests[0]) == []
        assert not any(p.startswith("/audio/") for p, _ in server.ranges[before:])  # verified files not re-fetched
    finally:
        server.close()


def test_corrupt_file_is_refused(tmp_path, manifests):
    bad = sorted(FILES)[1]
    server = Server(corrupt=[bad])
    try:
        errors = download.fetch_crema_d(tmp_path, audio_url=f"{server.url}/audio", meta_url=f"{server.url}/meta",
                                        manifest=manifests[0], workers=2)
    finally:
        server.close()
    assert len(errors) == 1 and bad in errors[0] and "SHA-256" in errors[0]
    assert not (tmp_path / "crema-d" / "AudioWAV" / bad).exists()
    assert not (tmp_path / "crema-d" / "AudioWAV" / f"{bad}.part").exists()
    assert sum(1 for _ in (tmp_path / "crema-d" / "AudioWAV").glob("*.wav")) == 2


def test_missing_file_is_an_error(tmp_path, manifests):
    server = Server()
    try:
        extra = pd.concat([manifests[0], pd.DataFrame([{"name": "9999_DFA_ANG_XX.wav", "sha256": "0" * 64, "size": 3}])])
        errors = download.fetch_crema_d(tmp_path, audio_url=f"{server.url}/audio", meta_url=f"{server.url}/meta",
                                        manifest=extra)
    finally:
        server.close()
    assert any("HTTP 404" in e and "9999_DFA_ANG_XX" in e for e in errors)


def test_ravdess_zip_extract_and_verify(tmp_path, manifests):
    server = Server()
    try:
        assert download.fetch_ravdess(tmp_path, url=f"{server.url}/ravdess.zip", manifest=manifests[1]) == []
        for k, v in ZIP_MEMBERS.items():
            assert (tmp_path / "ravdess" / "Audio_Speech_Actors_01-24" / k).read_bytes() == v
        assert not (tmp_path / "ravdess" / "Audio_Speech_Actors_01-24.zip").exists()
        bad = manifests[1].copy()
        bad.loc[0, "sha256"] = "0" * 64
        errors = download.fetch_ravdess(tmp_path / "again", url=f"{server.url}/ravdess.zip", manifest=bad)
        assert len(errors) == 1 and "SHA-256" in errors[0]
    finally:
        server.close()


def test_cli_exit_code(tmp_path, monkeypatch):
    monkeypatch.setenv("RAVDESS_URL", "http://127.0.0.1:9/none.zip")  # nothing listens on port 9
    assert download.main(["--dest", str(tmp_path), "--corpus", "ravdess"]) == 1
