{# `name as {{ idc_qc.materialized_cte() }} (...)`: compute a CTE once for all its readers.
   DuckDB otherwise decides by itself whether to inline a CTE read twice, and may inline it
   and materialise what it reads instead, parsing every instance twice. BigQuery has no such
   hint (it plans CTEs itself): nothing is written there. #}
{% macro materialized_cte() %}{{ return(adapter.dispatch('materialized_cte', 'idc_qc')()) }}{% endmacro %}

{% macro default__materialized_cte() %}{% endmacro %}

{% macro duckdb__materialized_cte() %}materialized{% endmacro %}
