{# TRUE when a float is a finite number (not NaN, not +/-Infinity); NULL for NULL.
   DuckDB has isfinite(); BigQuery spells it with is_nan() and is_inf(). #}
{% macro is_finite(expression) %}{{ return(adapter.dispatch('is_finite', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__is_finite(expression) %}isfinite({{ expression }}){% endmacro %}

{% macro bigquery__is_finite(expression) %}(not is_nan({{ expression }}) and not is_inf({{ expression }})){% endmacro %}
