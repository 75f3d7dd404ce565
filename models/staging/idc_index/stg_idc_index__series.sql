-- One row per series of the IDC release, as published in idc-index-data's idc_index.
-- Older releases carry fewer columns (v20 has no SOPClassUID, sop_class_name, nor the
-- series_*_idc_version pair): those come out as typed NULLs (macros/idc_index_column.sql),
-- listed per build in the var `idc_index_columns_absent`, so every release builds.

with source as (
    select * from {{ idc_qc.source_files('idc_index', 'idc_index') }}
),

renamed as (
    select
        SeriesInstanceUID,
        StudyInstanceUID,
        PatientID,
        collection_id,
        {{ idc_qc.idc_index_column('analysis_result_id') }},
        source_DOI,
        Modality,
        {{ idc_qc.idc_index_column('SOPClassUID') }},
        {{ idc_qc.idc_index_column('sop_class_name') }},
        BodyPartExamined,
        Manufacturer,
        ManufacturerModelName,
        PatientAge,
        PatientSex,
        SeriesDescription,
        cast(instanceCount as {{ dbt.type_bigint() }}) as instance_count,
        license_short_name,
        {{ idc_qc.idc_index_column('series_init_idc_version', 'integer') }},
        {{ idc_qc.idc_index_column('series_revised_idc_version', 'integer') }},
        cast(series_size_MB as {{ idc_qc.type_double() }}) as series_size_mb,
        series_aws_url
    from source
)

select * from renamed
