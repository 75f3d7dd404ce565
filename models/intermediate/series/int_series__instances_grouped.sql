{{ config(materialized='table') }}
-- The one pass of the series summaries over the instance rows: one row per series, combination
-- of the values the DICOM value rules read (macro value_combination_columns; almost always one
-- per series) and whether the rows have a SOPInstanceUID, with how many rows carry it and the
-- smallest of the descriptive values. Both readers regroup these few hundred thousand rows
-- instead of IDC's 49M: int_series__values_grouped (the quality checks: the rows with a
-- SOPInstanceUID) and int_series__instances_aggregated (the series: every row with a
-- SeriesInstanceUID). Each of them was a pass of its own over every instance row, and on input
-- in arbitrary order each gathered every series from the whole input (issue 24).
-- Only SOPInstanceUID differs on every row: its rule is evaluated here, per row.

{%- set combination = idc_qc.value_combination_columns() %}

with instances as (
    select
        *,
        -- FALSE (not NULL) for a NULL UID: the rows unusable_instances lists, counted here too
        coalesce({{ idc_qc.has_text('SOPInstanceUID') }}, false) as has_sop_instance_uid
    from {{ ref('stg_dicom__instances') }}
    -- a row without a SeriesInstanceUID belongs to no series (unusable_instances lists it)
    where {{ idc_qc.has_text('SeriesInstanceUID') }}
),

grouped as (
    select
        SeriesInstanceUID,
        {%- for column in combination %}
        {{ column }},
        {%- endfor %}
        has_sop_instance_uid,
        count(*) as instance_count,
        count(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then 1 end) as bad_sop_uid_count,
        min(case when {{ idc_qc.qc_uid_invalid('SOPInstanceUID') }} then SOPInstanceUID end) as bad_sop_uid,
        min(SOPInstanceUID) as sample_SOPInstanceUID,
        min(BodyPartExamined) as BodyPartExamined,
        min(Manufacturer) as Manufacturer,
        min(ManufacturerModelName) as ManufacturerModelName,
        min(SeriesDescription) as SeriesDescription
    from instances
    group by SeriesInstanceUID, {{ combination | join(', ') }}, has_sop_instance_uid
),

final as (
    select
        *,
        {{ idc_qc.value_combination_key('grouped', extra=["case when grouped.has_sop_instance_uid then 'sop' else 'no sop' end"]) }} as instance_group_key
    from grouped
)

select * from final
