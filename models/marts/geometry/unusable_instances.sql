-- One row per input row that cannot take part in the geometry: without a SeriesInstanceUID
-- there is no series to judge it in, without a SOPInstanceUID it cannot be told apart from the
-- other instances of its series. Staging keeps every row and the geometry models read the
-- others, so every input row is accounted for: the rows of unusable_instances, plus
-- instance_count + duplicated_instance_row_count over series_geometry.
--
-- The row keeps whatever identifies it (study, patient, collection, the UID it does have,
-- InstanceNumber) so a curator can find the file.

-- The reasons are words of seeds/geometry_reasons.csv (level unusable), which its data test
-- reads: the ref makes any selection that builds this model build the seed first.
{%- do ref('geometry_reasons') %}

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
),

classified as (
    select
        {{ idc_qc.geometry_unusable_reason() }} as reason,
        SeriesInstanceUID,
        SOPInstanceUID,
        StudyInstanceUID,
        PatientID,
        collection_id,
        Modality,
        SOPClassUID,
        InstanceNumber,
        SeriesDescription
    from instances
    -- the few unusable rows first (a test of the two UIDs), then their reason
    where {{ idc_qc.geometry_unusable_instance() }}
),

final as (
    select * from classified
)

select * from final
