{# A FROM-clause join that yields one row per element of `array`, the element named `alias`.
   The alias syntax differs: DuckDB names the column of a table function `t(alias)`,
   BigQuery names the element directly. Rows whose array is NULL or empty disappear. #}
{% macro cross_join_unnest(array, alias) %}{{ return(adapter.dispatch('cross_join_unnest', 'idc_qc')(array, alias)) }}{% endmacro %}

{% macro default__cross_join_unnest(array, alias) %}cross join unnest({{ array }}) as {{ alias }}_unnested({{ alias }}){% endmacro %}

{% macro bigquery__cross_join_unnest(array, alias) %}cross join unnest({{ array }}) as {{ alias }}{% endmacro %}
