{# `*` without some columns: DuckDB spells it EXCLUDE, BigQuery EXCEPT. #}
{% macro star_except(columns, relation=None) %}{{ return(adapter.dispatch('star_except', 'idc_qc')(columns, relation)) }}{% endmacro %}

{% macro default__star_except(columns, relation) %}{{ relation ~ '.' if relation }}* exclude ({{ columns | join(', ') }}){% endmacro %}

{% macro bigquery__star_except(columns, relation) %}{{ relation ~ '.' if relation }}* except ({{ columns | join(', ') }}){% endmacro %}
