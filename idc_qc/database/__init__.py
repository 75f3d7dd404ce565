"""The built database and every file beside it.

A database ``<dir>/<stem>.duckdb`` is never alone. Beside it sit (names in :mod:`.files`):

==========================================  =====================================================
``<stem>.manifest.json``                    the run manifest: what made this build (``build.build_id``)
``<stem>.attempt.json``                     the latest build attempt, even one that failed or was killed
``<stem>.validation.json``                  ``idc-qc check``'s results (``summary.build_id``)
``<stem>.qc_failures.parquet``              one row per failing series and check (key-value metadata
                                            ``idc_qc_build_id``)
``<stem>.qc_report.html`` / ``.csv``        ``idc-qc report`` (the page names its build id)
``<stem>.duckdb.lock``                      the build lock (``flock``; pid and start time)
``<stem>.duckdb.building/``                 the new database while it is being built (staging)
``dbt/``                                    dbt's target/ and logs/ of the builds into this folder
``clinical/``                               the clinical store (``idc-qc clinical add``;
                                            ``$IDC_QC_CLINICAL_DIR`` names another)
==========================================  =====================================================

Every build has an id (:func:`.state.new_build_id`), recorded in the database's ``idc_qc_build``
table and in the manifest. Whatever is computed from a build (validation, failures, report,
exports) carries the id of the build it describes, and readers compare it with the database's
current one (:func:`.state.check_results_current`) instead of trusting a file's name. Every
file here is written with one atomic writer (:mod:`.atomic`): a crash, Ctrl-C or a full disk
never leaves a half-written file under the name asked for. Outputs a user names (``-o``) are
checked against these files and the warehouse's inputs (:func:`.guard.refuse_output_on_input`).

Imports run one way: everything may import this package; it imports only ``idc_qc.errors``,
``idc_qc.paths`` and ``idc_qc.instances`` (foundations), never a capability, a job or the CLI
(tests/unit/test_database.py checks it). Heavy imports (duckdb, yaml) stay inside functions.
"""
