{# a / b, NULL when b is zero. DuckDB 2 divides floats the IEEE way (1.0 / 0 = inf), so plain
   SQL guards the divisor; BigQuery has safe_divide(). #}
{% macro safe_divide(numerator, denominator) %}{{ return(adapter.dispatch('safe_divide', 'idc_qc')(numerator, denominator)) }}{% endmacro %}

{% macro default__safe_divide(numerator, denominator) %}(case when ({{ denominator }}) = 0 then null else ({{ numerator }}) / ({{ denominator }}) end){% endmacro %}

{% macro bigquery__safe_divide(numerator, denominator) %}safe_divide({{ numerator }}, {{ denominator }}){% endmacro %}
