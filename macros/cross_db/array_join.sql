{# Join an array of strings with a separator (NULL elements skipped on both engines). #}
{% macro array_join(array, separator) %}{{ return(adapter.dispatch('array_join', 'idc_qc')(array, separator)) }}{% endmacro %}

{% macro default__array_join(array, separator) %}array_to_string({{ array }}, {{ separator }}){% endmacro %}
