{# Whether the build has a frames table: the run var `frames` (DuckDB: the frames parts of an
   `idc-qc ingest` output that go with the instance files read, a list, empty when there are
   none; BigQuery: any value reads the frames off dicom_all's functional groups). Read when a
   model runs, so a new value re-parses nothing (macros/run_var.sql). #}
{% macro frames_given() -%}
  {%- set given = idc_qc.run_var('frames', []) -%}
  {{ return(given is not none and given != '' and given != [] and given != ['']) }}
{%- endmacro %}

{# A typed NULL and a cast to the staging types, by kind (as macro instance_column types the
   instance columns): 'string', 'integer' or 'string_array'. #}
{% macro typed_null(kind) -%}
  {%- if kind == 'string_array' -%}{{ idc_qc.null_string_array() }}
  {%- elif kind == 'integer' -%}cast(null as {{ dbt.type_bigint() }})
  {%- else -%}cast(null as {{ dbt.type_string() }}){%- endif -%}
{%- endmacro %}

{% macro typed_value(expression, kind) -%}
  {%- if kind == 'string_array' -%}{{ idc_qc.as_string_array(expression) }}
  {%- elif kind == 'integer' -%}{{ dbt.safe_cast(expression, dbt.type_bigint()) }}
  {%- else -%}cast({{ expression }} as {{ dbt.type_string() }}){%- endif -%}
{%- endmacro %}

{# Where the frames come from, one dispatch per engine because they live in different places:
   DuckDB reads the frames table an ingest wrote (the files of the run var `frames`); BigQuery
   has no such table, dicom_all keeps each object's functional groups as nested records. #}
{% macro frames_source() -%}
  {{ return(adapter.dispatch('frames_source', 'idc_qc')()) }}
{%- endmacro %}

{% macro default__frames_source() -%}
    select * from {{ idc_qc.source_files('dicom', 'frames') }}
{%- endmacro %}

{# BigQuery: the frames of dicom_all's multi-frame objects, one row per item of
   PerFrameFunctionalGroupsSequence (frame_number 1-based, in sequence order), each value from
   the frame's own functional group, else from the SharedFunctionalGroupsSequence (PS3.3
   C.7.6.16), the same resolution idc_qc/ingest/frames.py makes for the frames table on DuckDB.
   The column names are those of IDC's dicom_all (nested records of DICOM keywords). #}
{% macro bigquery__frames_source() -%}
    {%- set resolved = [
        ('PlanePositionSequence', 'ImagePositionPatient'),
        ('PlaneOrientationSequence', 'ImageOrientationPatient'),
        ('PixelMeasuresSequence', 'PixelSpacing'),
        ('PixelMeasuresSequence', 'SliceThickness'),
        ('PixelMeasuresSequence', 'SpacingBetweenSlices'),
        ('FrameContentSequence', 'StackID'),
        ('FrameContentSequence', 'InStackPositionNumber'),
        ('FrameContentSequence', 'TemporalPositionIndex'),
    ] %}
    select
        instances.SOPInstanceUID,
        instances.SeriesInstanceUID,
        frame_offset + 1 as frame_number
        {%- for sequence, attribute in resolved %},
        {%- if attribute in ['ImagePositionPatient', 'ImageOrientationPatient', 'PixelSpacing'] %}
        case when array_length(frame.{{ sequence }}[safe_offset(0)].{{ attribute }}) > 0
            then frame.{{ sequence }}[safe_offset(0)].{{ attribute }}
            else instances.SharedFunctionalGroupsSequence[safe_offset(0)].{{ sequence }}[safe_offset(0)].{{ attribute }}
        end as {{ attribute }}
        {%- else %}
        coalesce(frame.{{ sequence }}[safe_offset(0)].{{ attribute }},
            instances.SharedFunctionalGroupsSequence[safe_offset(0)].{{ sequence }}[safe_offset(0)].{{ attribute }}) as {{ attribute }}
        {%- endif %}
        {%- endfor %}
    from {{ idc_qc.source_files('dicom', 'dicom_all') }} as instances
    cross join unnest(instances.PerFrameFunctionalGroupsSequence) as frame with offset as frame_offset
{%- endmacro %}
