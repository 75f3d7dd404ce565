-- One row per series of the IDC release, as published in idc-index-data's idc_index.

with source as (
    select * from {{ source('idc_index', 'idc_index') }}
),

renamed as (
    select
        SeriesInstanceUID,
        StudyInstanceUID,
        PatientID,
        collection_id,
        analysis_result_id,
        source_DOI,
        Modality,
        SOPClassUID,
        sop_class_name,
        BodyPartExamined,
        Manufacturer,
        ManufacturerModelName,
        PatientAge,
        PatientSex,
        SeriesDescription,
        cast(instanceCount as {{ dbt.type_bigint() }}) as instance_count,
        license_short_name,
        cast(series_init_idc_version as {{ dbt.type_bigint() }}) as series_init_idc_version,
        cast(series_revised_idc_version as {{ dbt.type_bigint() }}) as series_revised_idc_version,
        cast(series_size_MB as {{ idc_qc.type_double() }}) as series_size_mb,
        series_aws_url
    from source
)

select * from renamed
