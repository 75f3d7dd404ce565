{# A tolerance of one rule of seeds/converter_rules.csv, as a scalar subquery: `kind` is
   'relative' or 'absolute' (the seed's relative_tolerance / absolute_tolerance). The seed is
   the one home of each number; the models read it here rather than repeat it. #}
{% macro converter_tolerance(rule_id, kind) -%}
(select {{ kind }}_tolerance from {{ ref('converter_rules') }} where rule_id = '{{ rule_id }}')
{%- endmacro %}
