{# The elements of an array for which `predicate` holds, order kept. The predicate names the
   element `element_` (e.g. "element_ > 0"). DuckDB: a lambda; BigQuery: a subquery. #}
{% macro array_filter(array, predicate) %}{{ return(adapter.dispatch('array_filter', 'idc_qc')(array, predicate)) }}{% endmacro %}

{% macro default__array_filter(array, predicate) %}list_filter({{ array }}, lambda element_: {{ predicate }}){% endmacro %}

{% macro bigquery__array_filter(array, predicate) -%}
array(select element_ from unnest({{ array }}) as element_ with offset as offset_ where {{ predicate }} order by offset_)
{%- endmacro %}


{# Each element of an array through `expression`, which names the element `element_`. #}
{% macro array_transform(array, expression) %}{{ return(adapter.dispatch('array_transform', 'idc_qc')(array, expression)) }}{% endmacro %}

{% macro default__array_transform(array, expression) %}list_transform({{ array }}, lambda element_: {{ expression }}){% endmacro %}

{% macro bigquery__array_transform(array, expression) -%}
array(select {{ expression }} from unnest({{ array }}) as element_ with offset as offset_ order by offset_)
{%- endmacro %}
