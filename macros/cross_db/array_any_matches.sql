{# TRUE when any element of a string array equals one of `values` or is LIKE one of `patterns`.
   DuckDB takes a lambda (the `lambda x:` form: DuckDB 2 rejects `x -> expr`); BigQuery unnests. #}
{% macro array_any_matches(array, values=[], patterns=[]) %}{{ return(adapter.dispatch('array_any_matches', 'idc_qc')(array, values, patterns)) }}{% endmacro %}

{% macro _element_matches(element, values, patterns) -%}
  ({%- for v in values %}{{ element }} = '{{ v }}'{% if not loop.last or patterns %} or {% endif %}{% endfor -%}
   {%- for p in patterns %}{{ element }} like '{{ p }}'{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

{% macro default__array_any_matches(array, values, patterns) -%}
  coalesce(len(list_filter({{ array }}, lambda element_: {{ idc_qc._element_matches('element_', values, patterns) }})) > 0, false)
{%- endmacro %}

{% macro bigquery__array_any_matches(array, values, patterns) -%}
  exists(select 1 from unnest({{ array }}) as element_ where {{ idc_qc._element_matches('element_', values, patterns) }})
{%- endmacro %}
