{# Smallest / largest element of an array of numbers, NULL for an empty or NULL array.
   DuckDB: list_min / list_max; BigQuery: an aggregate over UNNEST. #}
{% macro array_min(array) %}{{ return(adapter.dispatch('array_min', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_min(array) %}list_min({{ array }}){% endmacro %}

{% macro bigquery__array_min(array) %}(select min(element_) from unnest({{ array }}) as element_){% endmacro %}

{% macro array_max(array) %}{{ return(adapter.dispatch('array_max', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_max(array) %}list_max({{ array }}){% endmacro %}

{% macro bigquery__array_max(array) %}(select max(element_) from unnest({{ array }}) as element_){% endmacro %}


{# Number of distinct non-NULL elements of an array. #}
{% macro array_count_distinct(array) %}{{ return(adapter.dispatch('array_count_distinct', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_count_distinct(array) %}coalesce(len(list_distinct({{ array }})), 0){% endmacro %}

{% macro bigquery__array_count_distinct(array) %}(select count(distinct element_) from unnest({{ array }}) as element_){% endmacro %}
