{# Element `index` (0-based, like BigQuery OFFSET) of an array, NULL when out of range.
   DuckDB lists are 1-based and already yield NULL out of range. #}
{% macro array_element(array, index) %}{{ return(adapter.dispatch('array_element', 'idc_qc')(array, index)) }}{% endmacro %}

{% macro default__array_element(array, index) %}{{ array }}[{{ index }} + 1]{% endmacro %}

{% macro bigquery__array_element(array, index) %}{{ array }}[safe_offset({{ index }})]{% endmacro %}
