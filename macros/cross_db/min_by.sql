{# Value of `expression` on the row where `ordering` is smallest (largest for max_by), rows with
   a NULL `ordering` ignored. Both engines spell it min_by/max_by; kept as a macro so the NULL
   rule is written down in one place and an engine that lacks it has one place to change. #}
{% macro min_by(expression, ordering) %}{{ return(adapter.dispatch('min_by', 'idc_qc')(expression, ordering)) }}{% endmacro %}

{% macro default__min_by(expression, ordering) %}min_by({{ expression }}, {{ ordering }}){% endmacro %}

{% macro max_by(expression, ordering) %}{{ return(adapter.dispatch('max_by', 'idc_qc')(expression, ordering)) }}{% endmacro %}

{% macro default__max_by(expression, ordering) %}max_by({{ expression }}, {{ ordering }}){% endmacro %}
