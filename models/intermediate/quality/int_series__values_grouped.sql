{{ config(materialized='table') }}
-- One row per series and combination of the attributes the DICOM value rules read (almost
-- always one combination per series), over the usable instance rows, with how many instances
-- carry it and whether the seeds know its SOP class and Modality. The rows come from
-- int_series__instances_grouped, the one pass over the instance rows (shared with the series
-- summary): its groups with a SOPInstanceUID are these combinations, one each, as the flag is
-- one of its keys. SOPInstanceUID, which differs on every row, is checked there, per row.
-- The value rules (int_series__value_rules_failed), the consistency of a series' instances
-- (int_series__consistency_failed) and the completeness checks (int_series__completeness_failed)
-- read these few hundred thousand rows, not IDC's 49M.

{%- set combination = idc_qc.value_combination_columns() %}

with combinations as (
    select
        SeriesInstanceUID,
        {%- for column in combination %}
        {{ column }},
        {%- endfor %}
        instance_count,
        bad_sop_uid_count,
        bad_sop_uid,
        sample_SOPInstanceUID
    from {{ ref('int_series__instances_grouped') }}
    -- rows without a SOPInstanceUID are listed by unusable_instances instead
    where has_sop_instance_uid
),

sop_classes as (
    select SOPClassUID from {{ ref('sop_classes') }}
),

modalities as (
    select Modality from {{ ref('dicom_modalities') }}
),

final as (
    select
        combinations.*,
        -- the key of the grain: each value length-prefixed (or n for NULL), so that no two
        -- combinations share it whatever their values hold
        {{ idc_qc.value_combination_key('combinations') }} as value_combination_key,
        sop_classes.SOPClassUID is not null as known_sop_class,
        modalities.Modality is not null as known_modality
    from combinations
    left join sop_classes
        on combinations.SOPClassUID = sop_classes.SOPClassUID
    left join modalities
        on trim(combinations.Modality) = modalities.Modality
)

select * from final
