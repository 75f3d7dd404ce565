"""SQL on the local warehouse: IDC's BigQuery SQL transpiled, names mapped, run read-only.

- :mod:`.transpile`  BigQuery SQL -> DuckDB SQL (sqlglot) plus the fixes sqlglot leaves
  (0-based ``WITH OFFSET``, ``DECLARE``, ``ARRAY_AGG(... LIMIT n)``) and IDC's table names
  mapped to local relations.
- :mod:`.safety`     the allow-list: one read statement, refused before anything runs otherwise.
- :mod:`.catalog`    what can be queried: IDC's names (dicom_all, the index tables) and our
  models, each with its grain and description.
- :mod:`.run`        the read-only, contained connection and the result.
- :mod:`.cohort`     reproducible cohort manifests and their check against another release.
"""
