{# 64-bit float type. dbt.type_float() is FLOAT (32-bit) on DuckDB, too coarse for positions in mm. #}
{% macro type_double() %}{{ return(adapter.dispatch('type_double', 'idc_qc')()) }}{% endmacro %}

{% macro default__type_double() %}double{% endmacro %}

{% macro bigquery__type_double() %}float64{% endmacro %}
