{# A string (or number) as a 64-bit float, NULL when it does not parse. #}
{% macro safe_double(expression) %}{{ dbt.safe_cast(expression, idc_qc.type_double()) }}{% endmacro %}
