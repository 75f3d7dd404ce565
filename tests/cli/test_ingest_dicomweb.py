"""`idc-qc ingest URL` against a real Orthanc with its DICOMweb plugin (tests/support/orthanc.py).

One Orthanc for the module, loaded with the file-ingest tests' series (tests/support/dicom_files.py)
through its REST API. The round trip files -> Orthanc -> DICOMweb ingest must equal the file
ingest of the same files, column for column, except the columns named in NOT_IN_DICOMWEB; the
faults (500, malformed JSON, a response slower than the timeout, a series listed but gone, the
server stopped mid-ingest) come from a loopback proxy in front of the real server, or from
stopping it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("pydicom")
pytest.importorskip("httpx")

from support import orthanc as orthanc_support
from support.cli import invoke, one_error_line
from support.dicom_files import FAULT_SERIES, dataset_for, series_uid, write_fault_series
from support.geometry import SeriesSpec, series_rows

#: What a DICOMweb server cannot say and a file does: where the instance is (a path, here its
#: WADO-RS URL), its size on disk, and the file meta information (group 0002), which belongs to
#: the file a writer made (PS3.10), not to the data set that DICOMweb metadata describes.
#: The fault series (8 slices each, one missing or one more) and one enhanced CT of 4 frames.
ENHANCED_UID = "1.2.826.0.1.3680043.8.498.28.1"
UIDS = [series_uid(name) for name in FAULT_SERIES] + [ENHANCED_UID]
INSTANCES = 8 * len(FAULT_SERIES) + 1

NOT_IN_DICOMWEB = {"source_path", "instance_size", "TransferSyntaxUID", "MediaStorageSOPClassUID",
                   "MediaStorageSOPInstanceUID", "ImplementationClassUID", "ImplementationVersionName"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    orthanc_support.require()
    root = tmp_path_factory.mktemp("dicomweb")
    written = write_fault_series(root / "files", n=8, size=16)
    enhanced = _write_enhanced(root / "files" / "enhanced" / "enhanced.dcm")
    orthanc = orthanc_support.Orthanc(root / "orthanc").start()
    try:
        orthanc.upload([f for files in written.values() for f in files] + [enhanced])
        yield {"orthanc": orthanc, "root": root, "files": root / "files"}
    finally:
        orthanc.stop()


def _write_enhanced(path: Path) -> Path:
    """An enhanced CT from highdicom's legacy converter (as tests/unit/test_ingest_files.py makes):
    its frames' geometry is in the functional groups, which DICOMweb metadata must carry too."""
    legacy = pytest.importorskip("highdicom.legacy")
    rows = series_rows(SeriesSpec(uid="1.2.826.0.1.3680043.8.498.28.2", n=5, rows=16, columns=16,
                                  faults={"missing": 1}))
    slices = [dataset_for(row, pixels=16 * 16 * 2, private=False) for row in rows]
    enhanced = legacy.LegacyConvertedEnhancedCTImage(slices, series_instance_uid=ENHANCED_UID, series_number=1,
                                                     sop_instance_uid=ENHANCED_UID + ".1", instance_number=1)
    path.parent.mkdir(parents=True)
    enhanced.save_as(path)
    return path


@pytest.fixture(scope="module")
def file_ingest(server):
    from idc_qc.ingest.run import ingest

    out = server["root"] / "from_files"
    ingest([str(server["files"])], out, workers=1)
    return out


@pytest.fixture(scope="module")
def web_ingest(server):
    out = server["root"] / "from_dicomweb"
    orthanc = server["orthanc"]
    studies = sorted({_study(orthanc, uid) for uid in UIDS})
    args = ["ingest", orthanc.dicomweb, "-o", str(out)]
    for study in studies:
        args += ["--study", study]
    run = invoke(*args, env=orthanc.env())
    assert run.returncode == 0, run.stderr
    return {"out": out, "run": run}


def _study(orthanc, series: str) -> str:
    with orthanc.client() as client:
        found = client.get("/dicom-web/series", params={"SeriesInstanceUID": series}).json()
    return found[0]["0020000D"]["Value"][0]


def _rows(folder: Path) -> dict[str, dict]:
    return {r["SOPInstanceUID"]: r for r in pq.read_table(folder / "instances").to_pylist()}


def _same_but_ds_text(web, files) -> bool:
    """Two sequence (JSON text) values equal once decimal strings are read as numbers."""
    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        try:
            return float(value) if isinstance(value, str) else value
        except ValueError:
            return value

    if not (isinstance(web, str) and isinstance(files, str) and web.startswith("[")):
        return False
    return numbers(json.loads(web)) == numbers(json.loads(files))


def test_round_trip_equals_the_file_ingest_column_for_column(file_ingest, web_ingest, server):
    files, web = _rows(file_ingest), _rows(web_ingest["out"])
    assert set(web) == set(files) and len(web) == INSTANCES
    file_schema = pq.read_schema(next((file_ingest / "instances").glob("*.parquet")))
    web_schema = pq.read_schema(next((web_ingest["out"] / "instances").glob("*.parquet")))
    assert set(file_schema.names) - set(web_schema.names) <= NOT_IN_DICOMWEB
    assert set(web_schema.names) <= set(file_schema.names)
    for name in set(web_schema.names) - NOT_IN_DICOMWEB:
        assert web_schema.field(name).type == file_schema.field(name).type, name
    compared = (set(file_schema.names) | set(web_schema.names)) - NOT_IN_DICOMWEB
    assert {"ImagePositionPatient", "PixelSpacing", "KVP", "StudyDate", "OtherElements",
            "CTDIPhantomTypeCodeSequence", "PatientName"} <= compared
    for uid, row in files.items():
        differing = {c: (web[uid].get(c), row.get(c)) for c in compared if web[uid].get(c) != row.get(c)}
        # the one loss DICOM JSON allows: a DS written "2048.0" (highdicom's VOI LUT) that Orthanc
        # sends as the JSON number 2048; the same numbers, nothing else differs (docs/dicomweb.md)
        differing = {c: pair for c, pair in differing.items() if not _same_but_ds_text(*pair)}
        assert not differing, (uid, differing)
    assert _same_but_ds_text('[{"WindowWidth":["4096"]}]', '[{"WindowWidth":["4096.0"]}]')
    assert not _same_but_ds_text('[{"WindowWidth":["4096"]}]', '[{"WindowWidth":["4095.0"]}]')
    file_frames = pq.read_table(file_ingest / "frames").to_pylist()
    web_frames = pq.read_table(web_ingest["out"] / "frames").to_pylist()
    assert len(file_frames) == 4 and {f["SOPInstanceUID"] for f in file_frames} == {ENHANCED_UID + ".1"}
    strip = lambda frame: {k: v for k, v in frame.items() if k != "source_path"}  # noqa: E731 - one use, reads as a rule
    assert [strip(f) for f in web_frames] == [strip(f) for f in file_frames]
    orthanc = server["orthanc"]
    some = next(iter(web.values()))
    assert some["source_path"] == (f"{orthanc.dicomweb}/studies/{some['StudyInstanceUID']}/series/"
                                   f"{some['SeriesInstanceUID']}/instances/{some['SOPInstanceUID']}")
    assert some["instance_size"] is None


def test_summary_manifest_and_series_table(web_ingest, server):
    text = " ".join(web_ingest["run"].stderr.split())
    assert f"Listed {len(UIDS)} series on {server['orthanc'].dicomweb} = {len(UIDS)} read + 0 failed" in text
    assert "Next: idc-qc build --instances" in text
    manifest = json.loads((web_ingest["out"] / "ingest_manifest.json").read_text())
    assert manifest["source"] == "dicomweb" and manifest["server"] == server["orthanc"].dicomweb
    assert manifest["auth"] == "basic auth" and manifest["complete"] is True
    assert len(manifest["query"]["studies"]) == len(UIDS)
    assert manifest["counts"]["series_read"] == len(UIDS) and manifest["counts"]["instance_rows"] == INSTANCES
    series = pq.read_table(web_ingest["out"] / "series.parquet").to_pylist()
    assert {s["status"] for s in series} == {"read"}
    assert sum(int(s["token"]) for s in series) == sum(s["instances"] for s in series) == INSTANCES  # QIDO's counts
    assert pq.read_table(web_ingest["out"] / "errors.parquet").num_rows == 0


def test_the_password_is_nowhere_in_the_output(web_ingest):
    secrets = [orthanc_support.PASSWORD.encode(),
               base64.b64encode(f"{orthanc_support.USER}:{orthanc_support.PASSWORD}".encode())]
    for path in web_ingest["out"].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
    assert orthanc_support.PASSWORD not in web_ingest["run"].stderr + web_ingest["run"].stdout


def test_rerun_reads_nothing_new(web_ingest, server):
    parts = {p: p.stat().st_mtime_ns for p in (web_ingest["out"] / "instances").glob("*.parquet")}
    orthanc = server["orthanc"]
    run = invoke("ingest", orthanc.dicomweb, "-o", str(web_ingest["out"]),
                 *sum((["--series", uid] for uid in UIDS), []), env=orthanc.env())
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stderr.split())
    assert f"this run read 0 (0 new, 0 changed, 0 failed before), {len(UIDS)} unchanged" in text
    assert {p: p.stat().st_mtime_ns for p in (web_ingest["out"] / "instances").glob("*.parquet")} == parts


@pytest.mark.slow  # a dbt build: about 45 s here, the rest of the module about 15 s
def test_build_gives_the_verdicts_the_files_were_written_with(web_ingest, tmp_path):
    import duckdb

    db = tmp_path / "web" / "idc_qc.duckdb"  # named idc_qc.duckdb (its own folder): builds share dbt's cached parse by database name
    db.parent.mkdir()
    run = invoke("build", "--instances", str(web_ingest["out"]), "--db", str(db))
    assert run.returncode == 0, run.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = dict(con.execute("select SeriesInstanceUID, failure_reasons from series_geometry").fetchall())
        keys = dict(con.execute("select label, reason_key from geometry_reasons where level = 'series'").fetchall())
        kind, detail = con.execute("select input_kind, input_detail from rpt_build_context").fetchone()
    for name, (_, reason) in FAULT_SERIES.items():
        assert [keys[label] for label in reasons[series_uid(name)]] == ([] if reason is None else [reason]), name
    # the enhanced CT's frames came over DICOMweb too: judged frame by frame, its missing slice found
    assert [keys[label] for label in reasons[ENHANCED_UID]] == ["missing_slices"]
    assert kind == "dicom" and "/dicom-web" in detail and "over DICOMweb" in detail and "instances of" in detail, detail


def test_wrong_credentials_one_line_exit_2_and_the_password_nowhere(server, tmp_path):
    orthanc = server["orthanc"]
    wrong = "not-the-Pw-81x"
    out = tmp_path / "out"
    run = invoke("ingest", orthanc.dicomweb, "--all", "-o", str(out),
                 env={"IDC_QC_DICOMWEB_USER": orthanc_support.USER, "IDC_QC_DICOMWEB_PASSWORD": wrong})
    line = one_error_line(run)
    assert "HTTP 401" in line and "IDC_QC_DICOMWEB_PASSWORD" in line
    assert wrong not in run.stderr + run.stdout
    for path in out.rglob("*"):
        assert not path.is_file() or wrong.encode() not in path.read_bytes()


def test_credentials_in_the_url_are_refused_without_echoing_them(server, tmp_path):
    url = server["orthanc"].dicomweb.replace("http://", f"http://{orthanc_support.USER}:{orthanc_support.PASSWORD}@")
    run = invoke("ingest", url, "--all", "-o", str(tmp_path / "out"))
    line = one_error_line(run)
    assert "IDC_QC_DICOMWEB_USER" in line and orthanc_support.PASSWORD not in run.stderr + run.stdout


def test_no_selection_and_options_without_a_url_are_one_line(server, tmp_path):
    run = invoke("ingest", server["orthanc"].dicomweb, "-o", str(tmp_path / "a"), env=server["orthanc"].env())
    assert "--study UID, --series UID, --cohort MANIFEST or --all" in one_error_line(run)
    run = invoke("ingest", str(tmp_path), "--study", "1.2.3", "-o", str(tmp_path / "b"))
    assert "give its URL" in one_error_line(run)


def test_paging_lists_every_series(server):
    from idc_qc.ingest.dicomweb_client import Credentials, Server

    orthanc = server["orthanc"]
    header = "Basic " + base64.b64encode(f"{orthanc_support.USER}:{orthanc_support.PASSWORD}".encode()).decode()
    with Server(orthanc.dicomweb, Credentials(header, "basic auth")) as web:
        found, note = web.query("series", {}, page=4)
    assert note is None
    assert sorted(item["0020000E"]["Value"][0] for item in found) == sorted(UIDS)


def test_cohort_manifest_chooses_series_and_collection(server, tmp_path):
    from idc_qc.query.cohort import MANIFEST_FORMAT, query_sha256

    orthanc = server["orthanc"]
    chosen = ["regular", "gantry_tilt"]
    sql = "select SeriesInstanceUID from idc_index"
    manifest = {"format": MANIFEST_FORMAT, "query": {"sql": sql, "dialect": "duckdb",
                                                     "sha256": query_sha256(sql, "duckdb"), "tables_read": []},
                "series": [{"SeriesInstanceUID": series_uid(n), "StudyInstanceUID": _study(orthanc, series_uid(n)),
                            "crdc_series_uuid": f"uuid-{n}", "collection_id": "site_cohort"} for n in chosen]}
    path = tmp_path / "cohort.json"
    path.write_text(json.dumps(manifest))
    run = invoke("ingest", orthanc.dicomweb, "--cohort", str(path), "-o", str(tmp_path / "out"), env=orthanc.env())
    assert run.returncode == 0, run.stderr
    rows = _rows(tmp_path / "out")
    assert {r["SeriesInstanceUID"] for r in rows.values()} == {series_uid(n) for n in chosen}
    assert {r["collection_id"] for r in rows.values()} == {"site_cohort"}
    series = pq.read_table(tmp_path / "out" / "series.parquet").to_pylist()
    assert {s["token"] for s in series} == {f"uuid-{n}" for n in chosen}


# ----------------------------------------------------------------------------------------------
# faults: a loopback proxy in front of the real Orthanc

TOKEN = "test-bearer-token-5Jk"


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream, faults: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.faults = faults
        self.hits: dict[str, int] = {}


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/dicom+json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # the name http.server calls
        server: _Proxy = self.server
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, b'{"error": "bearer token required"}', "application/json")
            return
        if server.faults.get("qido") == "ignore_offset" and "/series?" in self.path:
            from urllib.parse import parse_qsl, urlencode, urlsplit

            parts = urlsplit(self.path)  # a server that always answers the first page
            self.path = parts.path + "?" + urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "offset"])
        if self.path.endswith("/metadata"):
            uid = self.path.split("/series/")[1].split("/")[0]
            fault = server.faults.get(uid)
            server.hits[uid] = server.hits.get(uid, 0) + 1
            if fault == "500":
                self._send(500, b"internal error", "text/plain")
                return
            if fault == "malformed":
                self._send(200, b'[{"00080018": {"vr": "UI", "Value": ["1.2.3"]}')  # cut short
                return
            if fault == "slow":
                time.sleep(2.5)
            if fault == "gone":
                self._send(404, b"", "text/plain")
                return
        with server.upstream.client() as client:
            answer = client.get(self.path, headers={"Accept": self.headers.get("Accept", "application/dicom+json")})
        self._send(answer.status_code, answer.content, answer.headers.get("content-type", "application/dicom+json"))


@pytest.fixture()
def proxy(server):
    faults = {series_uid("missing_slice"): "500", series_uid("duplicate_position"): "malformed",
              series_uid("non_uniform_spacing"): "slow", series_uid("mixed_orientation"): "gone"}
    httpd = _Proxy(server["orthanc"], faults)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_faults_are_errors_rows_with_url_and_reason_and_the_rest_is_written(proxy, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    base = f"http://127.0.0.1:{proxy.server_address[1]}/dicom-web"
    out = tmp_path / "out"
    started = time.perf_counter()
    run = invoke("ingest", base, "--all", "-o", str(out), "--token-file", str(token_file), "--timeout", "1",
                 "--retries", "1", env={"IDC_QC_DICOMWEB_USER": None, "IDC_QC_DICOMWEB_PASSWORD": None})
    assert run.returncode == 0, run.stderr
    assert time.perf_counter() - started < 30
    text = " ".join(run.stderr.split())
    assert "= 3 read + 4 failed" in text and "Errors table:" in text
    errors = {}
    for row in pq.read_table(out / "errors.parquet").to_pylist():
        errors[row["path"].split("/series/")[1].split("/")[0]] = row
    expected = {"missing_slice": ("http_error", "HTTP 500"), "duplicate_position": ("malformed_response", "not JSON"),
                "non_uniform_spacing": ("timeout", "no response within 1 s (2 tries)"),
                "mixed_orientation": ("gone", "HTTP 404")}
    assert set(errors) == {series_uid(n) for n in expected}
    for name, (kind, reason) in expected.items():
        row = errors[series_uid(name)]
        assert row["kind"] == kind and reason in row["reason"], row
        assert row["path"].startswith(base + "/studies/") and row["path"].endswith("/metadata")
    assert proxy.hits[series_uid("missing_slice")] == 2  # tried again once, then an errors row
    written = {r["SeriesInstanceUID"] for r in _rows(out).values()}
    assert written == {series_uid("regular"), series_uid("gantry_tilt"), ENHANCED_UID}
    manifest_text = (out / "ingest_manifest.json").read_text()
    assert TOKEN not in manifest_text and json.loads(manifest_text)["auth"] == "bearer token"
    assert TOKEN not in run.stderr + run.stdout

    # the faults mended: the rerun reads only the four that failed, and keeps the two
    proxy.faults.clear()
    run = invoke("ingest", base, "--all", "-o", str(out), "--token-file", str(token_file),
                 env={"IDC_QC_DICOMWEB_USER": None, "IDC_QC_DICOMWEB_PASSWORD": None})
    assert run.returncode == 0, run.stderr
    assert "this run read 4 (0 new, 0 changed, 4 failed before), 3 unchanged" in " ".join(run.stderr.split())
    assert len(_rows(out)) == INSTANCES
    assert pq.read_table(out / "errors.parquet").num_rows == 0


def test_server_stopped_mid_ingest_keeps_what_was_read_and_a_rerun_completes(server, tmp_path, monkeypatch):
    import idc_qc.ingest.dicomweb as dicomweb
    from idc_qc.ingest.dicomweb import Selection, ingest_dicomweb
    from idc_qc.ingest.dicomweb_client import auth_from_env

    orthanc = server["orthanc"]
    credentials = auth_from_env(env=orthanc.env())
    out = tmp_path / "out"
    real_read_series, asked = dicomweb.read_series, []

    def read_series(server_, listed):
        # the one fetching thread asks for series in turn: the server dies before the third is asked
        # for (stopping it from the progress callback raced with the thread reading ahead)
        asked.append(listed)
        if len(asked) == 3:
            orthanc.stop(kill=True)
        return real_read_series(server_, listed)

    monkeypatch.setattr(dicomweb, "read_series", read_series)
    try:
        first = ingest_dicomweb(orthanc.dicomweb, out, Selection(all=True), credentials=credentials, workers=1, processes=1,
                                retries=1, backoff=0.05, timeout=5)
    finally:
        monkeypatch.undo()
        orthanc.start()
    assert (first.read, first.failed) == (2, len(UIDS) - 2)
    kept = _rows(out)
    assert len({r["SeriesInstanceUID"] for r in kept.values()}) == first.read and len(kept) == first.rows > 0
    errors = pq.read_table(out / "errors.parquet").to_pylist()
    assert len(errors) == first.failed
    assert {e["kind"] for e in errors} == {"unreachable"} and all("connection failed" in e["reason"] for e in errors)
    again = ingest_dicomweb(orthanc.dicomweb, out, Selection(all=True), credentials=credentials)
    assert (again.retried, again.unchanged) == (first.failed, first.read)
    assert (again.read, again.failed, again.series_read_this_run) == (len(UIDS), 0, first.failed)
    assert len(_rows(out)) == INSTANCES
    assert pq.read_table(out / "errors.parquet").num_rows == 0


def test_a_server_that_ignores_offset_stops_the_paging_with_a_note(proxy):
    from idc_qc.ingest.dicomweb_client import Credentials, Server

    proxy.faults["qido"] = "ignore_offset"
    base = f"http://127.0.0.1:{proxy.server_address[1]}/dicom-web"
    with Server(base, Credentials(f"Bearer {TOKEN}", "bearer token")) as web:
        found, note = web.query("series", {}, page=3)
    assert len(found) == 3  # the first page, once: no endless loop, no duplicates
    assert "ignores offset" in note and "later matches may be missing" in note


def test_an_interrupted_ingest_continues_where_it_stopped(server, tmp_path):
    from idc_qc.ingest.dicomweb import Selection, ingest_dicomweb
    from idc_qc.ingest.dicomweb_client import auth_from_env

    orthanc = server["orthanc"]
    credentials = auth_from_env(env=orthanc.env())
    out = tmp_path / "out"

    def interrupt_after_three(done: int, total: int, instances: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # Ctrl-C while series are in flight

    with pytest.raises(KeyboardInterrupt):
        ingest_dicomweb(orthanc.dicomweb, out, Selection(all=True), credentials=credentials, workers=1, processes=1,
                        rows_per_part=10, progress=interrupt_after_three)
    manifest = json.loads((out / "ingest_manifest.json").read_text())
    assert manifest["complete"] is False and len(manifest["parts"]) == 1  # the checkpoint after the first part
    kept = pq.read_table(out / "series.parquet").to_pylist()
    assert len(kept) in (2, 3) and {s["status"] for s in kept} == {"read"}  # 10 rows: two or three series
    again = ingest_dicomweb(orthanc.dicomweb, out, Selection(all=True), credentials=credentials)
    assert (again.unchanged, again.new, again.read) == (len(kept), len(UIDS) - len(kept), len(UIDS))
    assert len(_rows(out)) == again.rows == INSTANCES and again.duplicate_instances == 0
