{# A table of instances written with each series' rows next to each other, whatever order the
   input has: the GROUP BYs and windows that read it per series (the geometry aggregate, the
   converter model, the instance review) then find each series in one place. On input in
   arbitrary order (a BigQuery export of dicom_all, a parallel file or DICOMweb ingest) they
   took 3 to 6 times what they take on series-ordered input: every one of them gathered each
   series from all over the input (docs/geometry.md, issue 24).
   DuckDB: `order by` the 64-bit hash of the series UID, after the model's select (an integer
   sort, cheaper than one on the UID's strings; a hash shared by two series only puts their
   rows together, every reader still groups by the UID). BigQuery: nothing in the SQL; the
   model's cluster_by config (SeriesInstanceUID) clusters the table's storage instead, and an
   ORDER BY there would cost a sort on one worker for no effect on storage. #}
{% macro series_ordered(column='SeriesInstanceUID') %}{{ return(adapter.dispatch('series_ordered', 'idc_qc')(column)) }}{% endmacro %}

{% macro default__series_ordered(column) %}{% endmacro %}

{% macro duckdb__series_ordered(column) %}order by hash({{ column }}){% endmacro %}
