-- One row per IDC release with its publication date.
-- Releases before v25 ship no version_metadata_index (var `idc_index_tables_absent`): then
-- the only release known is the one being built (var `idc_index_release`, set by
-- `idc-qc build --release`), with no date, so the series history still has a current release.

{% if idc_qc.idc_index_table_absent('version_metadata_index') %}

select
    cast({{ var('idc_index_release') | int }} as {{ dbt.type_bigint() }}) as idc_version,
    cast(null as date) as release_date

{% else %}

with source as (
    select * from {{ idc_qc.source_files('idc_index', 'version_metadata_index') }}
),

renamed as (
    select
        cast(idc_version as {{ dbt.type_bigint() }}) as idc_version,
        cast(version_timestamp as date) as release_date
    from source
)

select * from renamed

{% endif %}
