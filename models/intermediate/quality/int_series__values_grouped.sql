{{ config(materialized='table') }}
-- The one pass of the quality checks over the instance rows: one row per series and
-- combination of the attributes the DICOM value rules read (almost always one combination per
-- series), with how many instances carry it and whether the seeds know its SOP class and
-- Modality. Only SOPInstanceUID differs on every row: its rule is evaluated here, per row.
-- The value rules (int_series__value_rules_failed), the consistency of a series' instances
-- (int_series__consistency_failed) and the completeness checks (int_series__completeness_failed)
-- read these few hundred thousand rows, not IDC's 49M: a table, so that the pass runs once.

{%- set combination = ['StudyInstanceUID', 'PatientID', 'collection_id', 'Modality', 'SOPClassUID', 'PatientAge', 'PatientSex'] %}

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
    -- rows without a series or instance UID are listed by unusable_instances instead
    where {{ idc_qc.geometry_usable_instance() }}
),

sop_classes as (
    select SOPClassUID from {{ ref('sop_classes') }}
),

modalities as (
    select Modality from {{ ref('dicom_modalities') }}
),

combinations as (
    select
        SeriesInstanceUID,
        {%- for column in combination %}
        {{ column }},
        {%- endfor %}
        count(*) as instance_count,
        count(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then 1 end) as bad_sop_uid_count,
        min(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then SOPInstanceUID end) as bad_sop_uid,
        min(SOPInstanceUID) as sample_SOPInstanceUID
    from instances
    group by SeriesInstanceUID, {{ combination | join(', ') }}
),

final as (
    select
        combinations.*,
        -- the key of the grain: each value length-prefixed (or n for NULL), so that no two
        -- combinations share it whatever their values hold
        {%- set parts = ['combinations.SeriesInstanceUID'] %}
        {%- for column in combination %}
        {%- do parts.append("'|'") %}
        {%- do parts.append("case when combinations." ~ column ~ " is null then 'n' else "
            ~ dbt.concat([dbt.safe_cast('length(combinations.' ~ column ~ ')', dbt.type_string()), "':'", 'combinations.' ~ column]) ~ " end") %}
        {%- endfor %}
        {{ dbt.concat(parts) }} as value_combination_key,
        sop_classes.SOPClassUID is not null as known_sop_class,
        modalities.Modality is not null as known_modality
    from combinations
    left join sop_classes
        on combinations.SOPClassUID = sop_classes.SOPClassUID
    left join modalities
        on trim(combinations.Modality) = modalities.Modality
)

select * from final
