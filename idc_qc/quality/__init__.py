"""Quality gates: Great Expectations suites over marts and rpt_* (SQL pushed down at scale)."""
