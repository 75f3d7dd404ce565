{# The relation of one per-collection clinical table: a parquet file of the local store on
   DuckDB (var clinical_dir), IDC's clinical dataset on BigQuery
   (<idc_bigquery_project>.idc_v<release>_clinical, or var clinical_bigquery_dataset). These
   tables are not declared sources: their names are data (table_metadata), not code. #}
{% macro clinical_table(table_name) %}{{ return(adapter.dispatch('clinical_table', 'idc_qc')(table_name)) }}{% endmacro %}

{% macro default__clinical_table(table_name) -%}
  {%- set folder = idc_qc.run_var('clinical_dir') -%}
  {%- if not folder and execute -%}
    {{ exceptions.raise_compiler_error("dbt var clinical_tables names " ~ table_name ~ " but clinical_dir is empty") }}
  {%- endif -%}
  read_parquet('{{ (folder ~ "/" ~ table_name ~ ".parquet") | replace("'", "''") }}')
{%- endmacro %}

{% macro bigquery__clinical_table(table_name) -%}
  `{{ var('idc_bigquery_project') }}`.`{{ idc_qc.clinical_bigquery_dataset() }}`.`{{ table_name }}`
{%- endmacro %}

{% macro clinical_bigquery_dataset() -%}
  {%- if var('clinical_bigquery_dataset') -%}{{ var('clinical_bigquery_dataset') }}
  {%- elif var('idc_release') | string == 'current' -%}idc_current_clinical
  {%- else -%}idc_v{{ var('idc_release') }}_clinical{%- endif -%}
{%- endmacro %}

{# A clinical table's column as text, or a typed NULL when the table has no such column. #}
{% macro clinical_text_column(column) -%}
  {%- if column -%}cast({{ adapter.quote(column) }} as {{ dbt.type_string() }}){%- else -%}cast(null as {{ dbt.type_string() }}){%- endif -%}
{%- endmacro %}

{# A clinical table's column as a 64-bit float (NULL when it does not parse: IDC stores many numbers as text). #}
{% macro clinical_number_column(column) -%}
  {%- if column -%}{{ idc_qc.safe_double('cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')') }}{%- else -%}cast(null as {{ idc_qc.type_double() }}){%- endif -%}
{%- endmacro %}
