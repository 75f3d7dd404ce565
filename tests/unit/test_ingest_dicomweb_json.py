"""The DICOMweb ingest's pieces that need no server: credentials, URLs, DICOM JSON -> row.

The server-facing behaviour (listing, paging, faults, reruns) is tested on a real Orthanc in
tests/cli/test_ingest_dicomweb.py.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest

pytest.importorskip("pydicom")

from idc_qc.errors import IdcQcError
from idc_qc.ingest.dicomweb_json import _decimal_text, _plain, instance_row
from idc_qc.ingest.dicomweb_client import (
    Credentials,
    _Number,
    auth_from_env,
    check_url,
    is_url,
    parse_json,
)

SECRET = "pw-never-shown-3Vq"


def test_url_checks():
    assert is_url("https://host/dicom-web") and is_url("HTTP://host") and not is_url("/data/dicom")
    assert check_url("HTTPS://Host:8042/dicom-web/") == "https://Host:8042/dicom-web"
    with pytest.raises(IdcQcError) as refused:
        check_url(f"https://curator:{SECRET}@pacs.example.org/dicom-web")
    assert SECRET not in str(refused.value) and "IDC_QC_DICOMWEB_USER" in str(refused.value)
    with pytest.raises(IdcQcError, match="query"):
        check_url(f"https://pacs.example.org/dicom-web?access_token={SECRET}")
    with pytest.raises(IdcQcError, match="not a DICOMweb base URL"):
        check_url("https:///dicom-web")


def test_credentials_from_the_environment_or_a_file(tmp_path):
    assert auth_from_env(env={}).header is None
    token = auth_from_env(env={"IDC_QC_DICOMWEB_TOKEN": f" {SECRET}\n"})
    assert token.header == f"Bearer {SECRET}" and token.describe == "bearer token from IDC_QC_DICOMWEB_TOKEN"
    basic = auth_from_env(env={"IDC_QC_DICOMWEB_USER": "curator", "IDC_QC_DICOMWEB_PASSWORD": SECRET})
    assert basic.header == "Basic " + base64.b64encode(f"curator:{SECRET}".encode()).decode()
    assert SECRET not in repr(basic) and SECRET not in repr(token)
    (tmp_path / "token").write_text(SECRET + "\n")
    assert auth_from_env(tmp_path / "token", env={}).header == f"Bearer {SECRET}"
    (tmp_path / "pw").write_text(SECRET)
    from_file = auth_from_env(password_file=tmp_path / "pw", env={"IDC_QC_DICOMWEB_USER": "curator"})
    assert from_file.header == basic.header


@pytest.mark.parametrize(("env", "message"), [
    ({"IDC_QC_DICOMWEB_TOKEN": "t", "IDC_QC_DICOMWEB_USER": "u"}, "both a bearer token and IDC_QC_DICOMWEB_USER"),
    ({"IDC_QC_DICOMWEB_USER": "u"}, "no password"),
    ({"IDC_QC_DICOMWEB_PASSWORD": SECRET}, "no user"),
])
def test_ambiguous_or_half_credentials_are_one_line(env, message):
    with pytest.raises(IdcQcError, match=message) as refused:
        auth_from_env(env=env)
    assert SECRET not in str(refused.value)


def test_empty_or_missing_token_file(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(IdcQcError, match="is empty"):
        auth_from_env(tmp_path / "empty", env={})
    with pytest.raises(IdcQcError, match="cannot read it"):
        auth_from_env(tmp_path / "missing", env={})


@pytest.mark.parametrize(("written", "text"), [
    ("-100", "-100"), ("0.69999999999999996", "0.7"), ("2.5", "2.5"), ("1e-05", "1e-05"), ("120", "120"),
    ("-121.33974600000001", "-121.339746"),
])
def test_ds_numbers_come_back_as_their_shortest_text(written, text):
    assert _decimal_text(_Number(written)) == text


def test_plain_keeps_ds_text_numbers_elsewhere_and_drops_bulk_data():
    item = parse_json(json.dumps({
        "00280030": {"vr": "DS", "Value": [0.69999999999999996, 0.7]},
        "00280010": {"vr": "US", "Value": [512]},
        "00189306": {"vr": "FD", "Value": [0.5]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "http://server/bulk/7fe00010"},
        "00189346": {"vr": "SQ", "Value": [{"00181150": {"vr": "IS", "Value": [500]}}]},
    }).encode(), "x")
    plain = {tag: _plain(element) for tag, element in item.items()}
    assert plain["00280030"]["Value"] == ["0.7", "0.7"]
    assert plain["00280010"]["Value"] == [512] and type(plain["00280010"]["Value"][0]) is int
    assert plain["00189306"]["Value"] == [0.5] and type(plain["00189306"]["Value"][0]) is float
    assert plain["7FE00010"] == {"vr": "OW"}
    assert plain["00189346"]["Value"][0]["00181150"]["Value"] == ["500"]


def test_instance_row_is_the_file_ingest_row_and_logs_nothing(caplog):
    body = json.dumps({
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00080020": {"vr": "DA", "Value": ["20240131"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
        "00180060": {"vr": "DS", "Value": [120]},
        "00200032": {"vr": "DS", "Value": [-100.5, -120, 40]},
        "00280010": {"vr": "US", "Value": [512]},
        "00190010": {"vr": "LO", "Value": ["SITE PRIVATE"]},
        "00191010": {"vr": "LO", "Value": ["private value"]},
        "00083002": {"vr": "UI", "Value": ["1.2.840.10008.1.2.1"]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "http://server/bulk"},
    }).encode()
    with caplog.at_level(logging.DEBUG):
        row, problems = instance_row(parse_json(body, "x"))
    assert not problems and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert row["SOPInstanceUID"] == "1.2.3.4" and str(row["StudyDate"]) == "2024-01-31"
    assert row["PatientName"] == "Doe^Jane" and row["KVP"] == "120" and row["Rows"] == 512
    assert row["ImagePositionPatient"] == ["-100.5", "-120", "40"]
    assert row["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"  # from AvailableTransferSyntaxUID
    assert {"Tag": "Tag_00191010", "Data": ["private value"]} in row["OtherElements"]
    assert "PixelData" not in row


def test_malformed_json_is_a_classified_failure():
    from idc_qc.ingest.dicomweb_client import RequestFailed

    with pytest.raises(RequestFailed) as failed:
        parse_json(b'[{"00080018": ', "http://server/metadata")
    assert failed.value.kind == "malformed_response" and failed.value.reason.startswith("not JSON")
    assert parse_json(b"  ", "x") == []


def test_credentials_describe_without_the_secret():
    assert repr(Credentials(f"Bearer {SECRET}", "bearer token from IDC_QC_DICOMWEB_TOKEN")) == \
        "Credentials(bearer token from IDC_QC_DICOMWEB_TOKEN)"
