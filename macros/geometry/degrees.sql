{# Radians to degrees with acos(-1) for pi, which both engines have (BigQuery has no pi()). #}
{% macro radians_to_degrees(expression) %}(({{ expression }}) * 180 / acos(-1)){% endmacro %}
