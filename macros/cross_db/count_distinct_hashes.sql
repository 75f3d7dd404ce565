{# A lower bound of the number of distinct non-NULL values of `expression` in a group: equal
   to it but for a hash collision, which can only lower it. Fewer than the rows then means
   "may repeat a value", for a caller that checks those groups exactly. DuckDB gathers the
   64-bit hashes into a list and counts its distinct elements, which as a plain aggregate
   is cheaper than COUNT(DISTINCT): for that DuckDB materialises every column of the
   aggregate's input once more. BigQuery counts the values themselves, exactly. #}
{% macro count_distinct_hashes(expression) %}{{ return(adapter.dispatch('count_distinct_hashes', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__count_distinct_hashes(expression) %}count(distinct {{ expression }}){% endmacro %}

{% macro duckdb__count_distinct_hashes(expression) %}coalesce(len(list_distinct(list(hash({{ expression }})) filter (where {{ expression }} is not null))), 0){% endmacro %}
