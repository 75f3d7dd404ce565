{# A lower bound of the number of distinct non-NULL values of `expression` in a group: equal
   to it but for a hash collision, which can only lower it. Fewer than the rows then means
   "may repeat a value", for a caller that checks those groups exactly. Two steps:
   `distinct_hashes_state(expression)` is the aggregate, `distinct_hashes_count(state)` reads
   the count off its result in a later select (a DuckDB lambda over an aggregate in the same
   select is evaluated again for every element: a hundred times slower).
   DuckDB gathers the 64-bit hashes sorted and counts the neighbours that differ: over 10M
   instances 0.5 s, against 0.8 s for list_distinct (a hash set per group) and more for
   COUNT(DISTINCT), for which DuckDB materialises every column of the aggregate's input once
   more. BigQuery counts the values themselves, exactly, in the aggregate. #}
{% macro distinct_hashes_state(expression) %}{{ return(adapter.dispatch('distinct_hashes_state', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__distinct_hashes_state(expression) %}count(distinct {{ expression }}){% endmacro %}

{% macro duckdb__distinct_hashes_state(expression) %}list_sort(list(hash({{ expression }})) filter (where {{ expression }} is not null)){% endmacro %}

{% macro distinct_hashes_count(state) %}{{ return(adapter.dispatch('distinct_hashes_count', 'idc_qc')(state)) }}{% endmacro %}

{% macro default__distinct_hashes_count(state) %}{{ state }}{% endmacro %}

{# the sorted hashes less the neighbours equal to the one before (state[2:]'s element i_ is
   state[i_ + 1]); no hash at all (NULL) counts 0 #}
{% macro duckdb__distinct_hashes_count(state) %}coalesce(len({{ state }}) - len(list_filter({{ state }}[2:], lambda h_, i_: h_ = {{ state }}[i_])), 0){% endmacro %}
