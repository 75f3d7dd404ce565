-- One row per series version that was published in earlier IDC releases.

with source as (
    select * from {{ source('idc_index', 'prior_versions_index') }}
),

renamed as (
    select
        SeriesInstanceUID,
        collection_id,
        Modality,
        cast(min_idc_version as {{ dbt.type_bigint() }}) as min_idc_version,
        cast(max_idc_version as {{ dbt.type_bigint() }}) as max_idc_version
    from source
)

select * from renamed
