{# One column of the instance source, cast to the type staging promises, or a typed NULL
   when the input lacks that optional column (the CLI lists absent columns in the var
   `instance_columns_absent` after checking every file against idc_qc/instances/schema.py,
   which declares each column's name and kind; a unit test keeps the calls equal to it). #}
{% macro instance_column(name, kind='string') -%}
  {%- set absent = name in idc_qc.run_var('instance_columns_absent', []) -%}
  {%- set quoted = adapter.quote(name) if name in ['Rows', 'Columns'] else name -%}
  {%- if kind == 'string_array' -%}
    {{ idc_qc.null_string_array() if absent else idc_qc.as_string_array(quoted) }}
  {%- elif kind == 'integer' -%}
    {{ 'cast(null as ' ~ dbt.type_bigint() ~ ')' if absent else dbt.safe_cast(quoted, dbt.type_bigint()) }}
  {%- else -%}
    {{ 'cast(null as ' ~ dbt.type_string() ~ ')' if absent else 'cast(' ~ quoted ~ ' as ' ~ dbt.type_string() ~ ')' }}
  {%- endif %} as {{ quoted }}
{%- endmacro %}
