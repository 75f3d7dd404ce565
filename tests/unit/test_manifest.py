from idc_qc.database.files import manifest_path
from idc_qc.database.manifest import read_manifest, update_manifest


def test_sections_are_merged_not_lost(tmp_path):
    db = tmp_path / "v25" / "idc_qc.duckdb"
    assert manifest_path(db).name == "idc_qc.manifest.json"
    assert read_manifest(db) is None
    update_manifest(db, build={"rows": {"series": 3}})
    update_manifest(db, validation={"failed": 1})
    assert read_manifest(db) == {"build": {"rows": {"series": 3}}, "validation": {"failed": 1}}
    assert [p.name for p in db.parent.iterdir()] == ["idc_qc.manifest.json"]


def test_manifest_is_readable_like_any_output_and_follows_the_umask(tmp_path):
    """mkstemp makes files 0600; the manifest must be 0644 under umask 022 (0640 under 027)."""
    import os
    import stat

    db = tmp_path / "idc_qc.duckdb"
    for umask, expected in ((0o022, 0o644), (0o027, 0o640), (0o077, 0o600)):
        old = os.umask(umask)
        try:
            path = update_manifest(db, validation={"umask": umask})
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == expected, (oct(umask), oct(path.stat().st_mode))
        # and a plain open() under the same umask agrees: the manifest is an ordinary output
        probe = tmp_path / f"probe_{umask:o}"
        old = os.umask(umask)
        try:
            probe.write_text("x")
        finally:
            os.umask(old)
        assert stat.S_IMODE(probe.stat().st_mode) == expected
