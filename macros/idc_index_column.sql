{# One column of a release's idc_index, cast to the type staging promises, or a typed NULL
   when that release's index does not carry the column. IDC added columns over time (v20's
   idc_index has 23 columns, v25's 31: SOPClassUID, sop_class_name, TransferSyntaxUID,
   transfer_syntax_name, PhotometricInterpretation, PixelRepresentation, series_init_idc_version
   and series_revised_idc_version came later). idc_qc/releases/cache.py reads the parquet schema
   and lists the absent ones in the var `idc_index_columns_absent` (docs/releases.md). #}
{% macro idc_index_column(name, kind='string', alias=none) -%}
  {%- set absent = name in var('idc_index_columns_absent', []) -%}
  {%- set type = dbt.type_bigint() if kind == 'integer' else (idc_qc.type_double() if kind == 'double' else dbt.type_string()) -%}
  {%- if absent -%}
    cast(null as {{ type }})
  {%- elif kind == 'string' -%}
    {{ name }}
  {%- else -%}
    cast({{ name }} as {{ type }})
  {%- endif %} as {{ alias or name }}
{%- endmacro %}

{# True when the release's index folder has no parquet file for `table` (older idc-index-data
   wheels ship only idc_index and prior_versions_index); staging then emits an empty, typed
   relation instead of reading a file that is not there. #}
{% macro idc_index_table_absent(table) -%}
  {{ return(table in var('idc_index_tables_absent', [])) }}
{%- endmacro %}
