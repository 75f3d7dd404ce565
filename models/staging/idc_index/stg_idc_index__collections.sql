-- One row per IDC collection.

with source as (
    select * from {{ source('idc_index', 'collections_index') }}
),

renamed as (
    select
        collection_id,
        collection_name,
        cancer_types,
        tumor_locations,
        species,
        cast(subjects as {{ dbt.type_bigint() }}) as subject_count,
        program_id
    from source
)

select * from renamed
