{# Number of elements of an array; NULL for a NULL array on both engines. #}
{% macro array_length(array) %}{{ return(adapter.dispatch('array_length', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_length(array) %}len({{ array }}){% endmacro %}

{# BigQuery returns 0, not NULL, for a NULL array: keep NULL so "missing" stays apart from "empty". #}
{% macro bigquery__array_length(array) %}if({{ array }} is null, null, array_length({{ array }})){% endmacro %}
