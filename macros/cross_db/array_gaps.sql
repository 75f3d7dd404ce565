{# Successive differences of a sorted array of numbers: [a[1] - a[0], a[2] - a[1], ...];
   empty for fewer than two elements. DuckDB walks 1-based indexes with a lambda; BigQuery
   walks 0-based offsets in a subquery. #}
{% macro array_gaps(array) %}{{ return(adapter.dispatch('array_gaps', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_gaps(array) -%}
list_transform(range(1, coalesce(len({{ array }}), 0)), lambda i_: {{ array }}[i_ + 1] - {{ array }}[i_])
{%- endmacro %}

{% macro bigquery__array_gaps(array) -%}
array(select {{ array }}[offset(i_ + 1)] - {{ array }}[offset(i_)]
      from unnest(generate_array(0, coalesce(array_length({{ array }}), 0) - 2)) as i_ order by i_)
{%- endmacro %}
