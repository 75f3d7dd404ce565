"""SQL on the local warehouse: IDC's BigQuery SQL transpiled, names mapped, run read-only.

- :mod:`.transpile`  BigQuery SQL -> DuckDB SQL (sqlglot) plus the fixes sqlglot leaves
  (0-based ``WITH OFFSET``, ``DECLARE``, ``ARRAY_AGG(... LIMIT n)``) and IDC's table names
  mapped to local relations.
- :mod:`.safety`     the allow-list: one read statement, refused before anything runs otherwise.
  Also the one check for every option that takes a condition or an expression (``--where``,
  ``--by``): DuckDB's parse tree, balanced parentheses, no table function that reads files.
- :mod:`.selection`  the one selection type (collection, modality, manufacturer, body part,
  release, ``--where``) of upset, bias, cohort and export: values bound, case ignored.
- :mod:`.catalog`    what can be queried: IDC's names (dicom_all, the index tables) and our
  models, each with its grain and description.
- :mod:`.run`        the read-only, contained connection (the sandbox every piece of user SQL
  runs in), Ctrl-C that interrupts it, and the result.
- :mod:`.cohort`     reproducible cohort manifests and their check against another release.
"""
