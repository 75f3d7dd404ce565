-- One row per IDC release with its publication date.

with source as (
    select * from {{ source('idc_index', 'version_metadata_index') }}
),

renamed as (
    select
        cast(idc_version as {{ dbt.type_bigint() }}) as idc_version,
        cast(version_timestamp as date) as release_date
    from source
)

select * from renamed
