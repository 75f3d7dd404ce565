{# An array without its NULL elements (e.g. a list of optional labels built with CASE).
   DuckDB filters with a lambda; BigQuery rebuilds the array from UNNEST. #}
{% macro array_compact(array) %}{{ return(adapter.dispatch('array_compact', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_compact(array) %}list_filter({{ array }}, lambda element_: element_ is not null){% endmacro %}

{% macro bigquery__array_compact(array) %}array(select element_ from unnest({{ array }}) as element_ with offset as offset_ where element_ is not null order by offset_){% endmacro %}
