{# Aggregate the non-NULL values of `expression` into an array sorted ascending.
   DuckDB: list() then list_sort(), about twice as fast as an ordered aggregate (list() keeps
   NULLs, so they are filtered); BigQuery: array_agg must IGNORE NULLS (it raises on a NULL
   element). An empty group gives NULL on both engines. #}
{% macro array_agg_sorted(expression) %}{{ return(adapter.dispatch('array_agg_sorted', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__array_agg_sorted(expression) %}list_sort(list({{ expression }}) filter (where {{ expression }} is not null)){% endmacro %}

{% macro bigquery__array_agg_sorted(expression) %}array_agg({{ expression }} ignore nulls order by {{ expression }}){% endmacro %}
