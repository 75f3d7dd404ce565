{# Regular expressions (RE2 syntax on both engines). DuckDB needs the 'g' option to
   replace every match; BigQuery replaces every match and wants raw strings. #}
{% macro regex_matches(expression, pattern) %}{{ return(adapter.dispatch('regex_matches', 'idc_qc')(expression, pattern)) }}{% endmacro %}

{% macro default__regex_matches(expression, pattern) %}regexp_full_match({{ expression }}, '{{ pattern }}'){% endmacro %}

{% macro bigquery__regex_matches(expression, pattern) %}regexp_contains({{ expression }}, r'^(?:{{ pattern }})$'){% endmacro %}


{% macro regex_replace_all(expression, pattern, replacement) %}{{ return(adapter.dispatch('regex_replace_all', 'idc_qc')(expression, pattern, replacement)) }}{% endmacro %}

{% macro default__regex_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g'){% endmacro %}

{% macro bigquery__regex_replace_all(expression, pattern, replacement) %}regexp_replace({{ expression }}, r'{{ pattern }}', '{{ replacement }}'){% endmacro %}
