{# TRUE when the input writes Rows or Columns but not as an integer ('abc'): the matrix size is
   malformed, not missing (staging's cast alone makes it NULL, which read as "missing Rows or
   Columns"). FALSE for a column the input lacks, and always on engines whose column is an
   integer already (IDC's dicom_all on BigQuery). #}
{% macro dimensions_not_integers() -%}
  {%- set absent = idc_qc.run_var('instance_columns_absent', []) -%}
  {%- set tests = [] -%}
  {%- for name in ['Rows', 'Columns'] if name not in absent -%}
    {%- set quoted = adapter.quote(name) -%}
    {%- do tests.append('(trim(cast(' ~ quoted ~ ' as ' ~ dbt.type_string() ~ ")) <> '' and "
                        ~ dbt.safe_cast(quoted, dbt.type_bigint()) ~ ' is null)') -%}
  {%- endfor -%}
  {{ 'coalesce(' ~ tests | join(' or ') ~ ', false)' if tests else 'false' }}
{%- endmacro %}
