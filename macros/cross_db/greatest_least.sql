{# greatest / least of a list of expressions, NULL when any of them is NULL, on both engines.
   BigQuery's GREATEST/LEAST return NULL if any argument is NULL; DuckDB's skip NULLs,
   so `greatest(NULL, 0.0)` is 0.0 there and NULL on BigQuery. #}
{% macro greatest_or_null(values) %}{{ return(adapter.dispatch('greatest_or_null', 'idc_qc')(values)) }}{% endmacro %}

{% macro default__greatest_or_null(values) -%}
  (case when {% for v in values %}({{ v }}) is null{% if not loop.last %} or {% endif %}{% endfor %} then null else greatest({{ values | join(', ') }}) end)
{%- endmacro %}

{% macro bigquery__greatest_or_null(values) %}greatest({{ values | join(', ') }}){% endmacro %}


{% macro least_or_null(values) %}{{ return(adapter.dispatch('least_or_null', 'idc_qc')(values)) }}{% endmacro %}

{% macro default__least_or_null(values) -%}
  (case when {% for v in values %}({{ v }}) is null{% if not loop.last %} or {% endif %}{% endfor %} then null else least({{ values | join(', ') }}) end)
{%- endmacro %}

{% macro bigquery__least_or_null(values) %}least({{ values | join(', ') }}){% endmacro %}
