{# An array-of-strings expression, whatever the element type of the input column.
   IDC's dicom_all stores multi-valued DICOM attributes as ARRAY<STRING>; parquet from
   other tools may hold numeric lists, which DuckDB casts element-wise. BigQuery cannot
   CAST between array types, and dicom_all is already ARRAY<STRING> there. #}
{% macro as_string_array(expression) %}{{ return(adapter.dispatch('as_string_array', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__as_string_array(expression) %}cast({{ expression }} as {{ dbt.type_string() }}[]){% endmacro %}

{% macro bigquery__as_string_array(expression) %}{{ expression }}{% endmacro %}


{# A typed NULL array of strings, for optional columns the input lacks. #}
{% macro null_string_array() %}{{ return(adapter.dispatch('null_string_array', 'idc_qc')()) }}{% endmacro %}

{% macro default__null_string_array() %}cast(null as varchar[]){% endmacro %}

{% macro bigquery__null_string_array() %}cast(null as array<string>){% endmacro %}
