{# The values of an instance row the DICOM value rules read (macros/reporting/qc_instance_rules.sql),
   besides the SeriesInstanceUID: int_series__instances_grouped groups the instance rows by them,
   int_series__values_grouped keys its rows on them. One list, so that the two agree. #}
{% macro value_combination_columns() %}{{ return([
    'StudyInstanceUID', 'PatientID', 'collection_id', 'Modality', 'SOPClassUID', 'PatientAge', 'PatientSex'
]) }}{% endmacro %}

{# A key for a series and one combination of those values, `extra` (SQL strings) appended: each
   value length-prefixed (n for NULL), so that no two combinations share it whatever their
   values hold. `relation`: the alias the columns are read from. #}
{% macro value_combination_key(relation, extra=[]) %}
{%- set parts = [relation ~ '.SeriesInstanceUID'] %}
{%- for column in idc_qc.value_combination_columns() %}
{%- do parts.append("'|'") %}
{%- do parts.append("case when " ~ relation ~ "." ~ column ~ " is null then 'n' else "
    ~ dbt.concat([dbt.safe_cast('length(' ~ relation ~ '.' ~ column ~ ')', dbt.type_string()), "':'", relation ~ '.' ~ column]) ~ " end") %}
{%- endfor %}
{%- for part in extra %}
{%- do parts.append("'|'") %}
{%- do parts.append(part) %}
{%- endfor %}
{{- dbt.concat(parts) -}}
{% endmacro %}
