{# The first value of a private element as IDC's dicom_all stores it, as text: `OtherElements`,
   a list of {Tag: 'Tag_GGGGEEEE', Data: [values as strings]} (idc-qc ingest writes the same).
   NULL when the element is absent, and when the input has no OtherElements column: synthetic
   instances, hand-made parquet, a BigQuery build whose var instance_columns_extra does not name
   it (so a BigQuery build over dicom_all reads OtherElements only when asked to). #}
{% macro other_element_value(tag) -%}
{%- if 'OtherElements' in idc_qc.run_var('instance_columns_extra', []) -%}
{{ return(adapter.dispatch('other_element_value', 'idc_qc')(tag)) }}
{%- else -%}
cast(null as {{ dbt.type_string() }})
{%- endif -%}
{%- endmacro %}

{# DuckDB: the first matching element's first value (indexing an empty list is NULL). #}
{% macro default__other_element_value(tag) -%}
list_filter(OtherElements, lambda element_: element_.Tag = 'Tag_{{ tag }}')[1].Data[1]
{%- endmacro %}

{# BigQuery: a list is unnested in a subquery, as dicom_all's documented queries read it. #}
{% macro bigquery__other_element_value(tag) -%}
(select element_.Data[safe_offset(0)] from unnest(OtherElements) as element_ where element_.Tag = 'Tag_{{ tag }}' limit 1)
{%- endmacro %}
