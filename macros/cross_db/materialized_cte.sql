{# `name as {{ idc_qc.materialized_cte() }} (...)`: compute a CTE once for all its readers.
   DuckDB otherwise decides by itself whether to inline a CTE read twice, and may inline it
   and materialise what it reads instead, parsing every instance twice. BigQuery has no such
   hint (it plans CTEs itself): nothing is written there. #}
{% macro materialized_cte() %}{{ return(adapter.dispatch('materialized_cte', 'idc_qc')()) }}{% endmacro %}

{% macro default__materialized_cte() %}{% endmacro %}

{% macro duckdb__materialized_cte() %}materialized{% endmacro %}

{# `name as {{ idc_qc.inlined_cte() }} (...)`: the opposite, for a CTE over every instance that
   two readers each filter down to a few rows (a join on a few series, on a few offending
   instances). DuckDB materialises a CTE read twice by default: every instance with its lists
   of strings written out (at IDC's scale 14.7 GB spilled to disk in instance_geometry), where
   each reader inlined reads the parquet once with the join's filter pushed into the scan.
   BigQuery: nothing (see above). #}
{% macro inlined_cte() %}{{ return(adapter.dispatch('inlined_cte', 'idc_qc')()) }}{% endmacro %}

{% macro default__inlined_cte() %}{% endmacro %}

{% macro duckdb__inlined_cte() %}not materialized{% endmacro %}
