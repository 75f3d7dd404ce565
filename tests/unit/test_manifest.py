from idc_qc.releases.manifest import manifest_path, read_manifest, update_manifest


def test_sections_are_merged_not_lost(tmp_path):
    db = tmp_path / "v25" / "idc_qc.duckdb"
    assert manifest_path(db).name == "idc_qc.manifest.json"
    assert read_manifest(db) is None
    update_manifest(db, build={"rows": {"series": 3}})
    update_manifest(db, validation={"failed": 1})
    assert read_manifest(db) == {"build": {"rows": {"series": 3}}, "validation": {"failed": 1}}
    assert [p.name for p in db.parent.iterdir()] == ["idc_qc.manifest.json"]
