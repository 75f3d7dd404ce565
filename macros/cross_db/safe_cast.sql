{# dbt.safe_cast on DuckDB: dbt-duckdb does not implement it, so dbt's default (a plain CAST,
   which raises on 'n/a') would be used. DuckDB's try_cast returns NULL like BigQuery's
   SAFE_CAST. dbt looks in the root project first for the `dbt` namespace, so this
   implementation is the one every dbt.safe_cast call in the project gets on DuckDB. #}
{% macro duckdb__safe_cast(field, type) %}try_cast({{ field }} as {{ type }}){% endmacro %}
