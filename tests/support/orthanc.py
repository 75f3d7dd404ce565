"""A real Orthanc with its DICOMweb plugin, on loopback, for the DICOMweb ingest tests and benchmark.

Debian's ``orthanc`` and ``orthanc-dicomweb`` (``./dev`` installs them: setup_orthanc). One
:class:`Orthanc` is one server process: a JSON configuration in a temporary folder (storage
there too), HTTP on a free loopback port, the DICOM port off, remote access refused, basic
authentication with one test user. :meth:`Orthanc.start` waits until it answers,
:meth:`Orthanc.upload` posts DICOM files to ``/instances`` (its REST API), :meth:`Orthanc.stop`
ends the process (and a restart keeps the storage).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from support.servers import free_port, stop_process

ORTHANC = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
USER, PASSWORD = "idcqc-tester", "orthanc-test-pw-7Qz"


def require() -> None:
    """Skip (with the command that installs them) when Orthanc or its DICOMweb plugin is missing."""
    if not (Path(ORTHANC).is_file() and Path(DICOMWEB_PLUGIN).is_file()):
        pytest.skip("Orthanc with its DICOMweb plugin is not installed: apt-get install orthanc orthanc-dicomweb "
                    "(./dev setup does it)")


class Orthanc:
    """One Orthanc process on 127.0.0.1 (see the module docs)."""

    def __init__(self, folder: Path, *, auth: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.auth = auth
        self.process: subprocess.Popen | None = None
        config = {
            "Name": "idc-qc-tests",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.port,
            "DicomServerEnabled": False,
            "DicomPort": free_port(),
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": auth,
            "RegisteredUsers": {USER: PASSWORD} if auth else {},
            "HttpCompressionEnabled": False,
            "SaveJobs": False,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full", "SeriesMetadata": "Full"},
        }
        self.config = self.folder / "config.json"
        self.config.write_text(json.dumps(config, indent=2))
        self.log = self.folder / "orthanc.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def env(self) -> dict[str, str]:
        """The environment that gives idc-qc this server's credentials."""
        return {"IDC_QC_DICOMWEB_USER": USER, "IDC_QC_DICOMWEB_PASSWORD": PASSWORD} if self.auth else {}

    def client(self):
        import httpx

        return httpx.Client(base_url=self.url, auth=(USER, PASSWORD) if self.auth else None, timeout=30)

    def start(self, timeout: float = 30.0) -> Orthanc:
        import httpx

        with self.log.open("ab") as log:
            self.process = subprocess.Popen([ORTHANC, str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.folder)
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Orthanc exited with {self.process.returncode}: "
                                       f"{self.log.read_text()[-2000:]}")
                try:
                    if client.get("/system").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Orthanc did not answer within {timeout:g} s: {self.log.read_text()[-2000:]}")
                time.sleep(0.1)

    def stop(self, kill: bool = False) -> None:
        """End the process: SIGTERM (Orthanc finishes what it serves), or SIGKILL (``kill``: gone at once)."""
        stop_process(self.process, kill=kill)
        self.process = None

    def upload(self, files: list[Path]) -> int:
        """POST each file to /instances; returns how many were stored."""
        stored = 0
        with self.client() as client:
            for path in files:
                response = client.post("/instances", content=Path(path).read_bytes(),
                                       headers={"Content-Type": "application/dicom"})
                response.raise_for_status()
                stored += 1
        return stored

    def delete_series(self, series_uid: str) -> None:
        """Delete one series through the REST API (a series listed, then gone)."""
        with self.client() as client:
            found = client.post("/tools/lookup", content=series_uid).json()
            for match in found:
                if match.get("Type") == "Series":
                    client.delete(match["Path"]).raise_for_status()

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
