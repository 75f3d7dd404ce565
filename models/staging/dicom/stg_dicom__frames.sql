-- One row per frame of a multi-frame object whose functional groups give each frame its own
-- geometry (Enhanced CT/MR/PET, legacy converted enhanced images, ...): the frame's position,
-- orientation and pixel measures as PS3.3 C.7.6.16 resolves them (a per-frame macro before the
-- shared one), typed as stg_dicom__instances types the same attributes.
--
-- DuckDB reads the frames table `idc-qc ingest` writes beside the instances (DIR/frames/,
-- run var `frames`: the parts that go with the instance files read). BigQuery reads the same
-- frames off dicom_all's PerFrameFunctionalGroupsSequence and SharedFunctionalGroupsSequence
-- when the var `frames` is given (any value; macro idc_qc.frames_source). Without
-- frames this view is empty and typed, and int_instances__slices passes the instances through.
{#- Lineage (the files are read below, through idc_qc.source_files, only when given) #}
{%- do source('dicom', 'frames') %}
{%- set columns = [
    ('SOPInstanceUID', 'string'), ('SeriesInstanceUID', 'string'), ('frame_number', 'integer'),
    ('ImagePositionPatient', 'string_array'), ('ImageOrientationPatient', 'string_array'),
    ('PixelSpacing', 'string_array'), ('SliceThickness', 'string'), ('SpacingBetweenSlices', 'string'),
    ('StackID', 'string'), ('InStackPositionNumber', 'integer'), ('TemporalPositionIndex', 'integer'),
] %}

{% if not idc_qc.frames_given() %}

select
    {%- for name, kind in columns %}
    {{ idc_qc.typed_null(kind) }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from (select 1 as one) as no_rows
where 1 = 0

{% else %}

with source as (
    {{ idc_qc.frames_source() }}
),

typed as (
    select
        {%- for name, kind in columns %}
        {{ idc_qc.typed_value(name, kind) }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
)

select * from typed

{% endif %}
