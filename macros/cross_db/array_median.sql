{# The lower median of an array of numbers (the middle element once sorted; of two middle
   elements the smaller), NULL for an empty or NULL array. An element of the array, never
   an interpolation: robust to a few outliers at either end. #}
{% macro array_lower_median(array) %}{{ return(adapter.dispatch('array_lower_median', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_lower_median(array) %}list_sort({{ array }})[(len({{ array }}) + 1) // 2]{% endmacro %}

{# The parentheses around div's first argument are BigQuery's own precedence; the BigQuery
   emulator of the tests reads `div(n - 1, 2)` as `n - (1 // 2)` without them. #}
{% macro bigquery__array_lower_median(array) -%}
array(select element_ from unnest({{ array }}) as element_ order by element_)[safe_offset(div((array_length({{ array }}) - 1), 2))]
{%- endmacro %}
