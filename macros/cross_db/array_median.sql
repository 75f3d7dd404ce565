{# The lower median of an array of numbers (the middle element once sorted; of two middle
   elements the smaller), NULL for an empty or NULL array. An element of the array, never
   an interpolation: robust to a few outliers at either end. #}
{% macro array_lower_median(array) %}{{ return(adapter.dispatch('array_lower_median', 'idc_qc')(array)) }}{% endmacro %}

{% macro default__array_lower_median(array) %}list_sort({{ array }})[(len({{ array }}) + 1) // 2]{% endmacro %}

{# DuckDB: the discrete quantile picks the same element (index floor(0.5 * (n - 1)), 0-based)
   by selection rather than a sort of the whole array, and reads the array once (the gaps of
   69k series: 0.45 s to 0.15 s). NaN sorts last in both. #}
{% macro duckdb__array_lower_median(array) %}list_aggregate({{ array }}, 'quantile_disc', 0.5){% endmacro %}

{# The parentheses around div's first argument are BigQuery's own precedence; the BigQuery
   emulator of the tests reads `div(n - 1, 2)` as `n - (1 // 2)` without them. #}
{% macro bigquery__array_lower_median(array) -%}
array(select element_ from unnest({{ array }}) as element_ order by element_)[safe_offset(div((array_length({{ array }}) - 1), 2))]
{%- endmacro %}
