-- One row per series version that was published in earlier IDC releases.
-- Releases before v20 ship no prior_versions_index (var `idc_index_tables_absent`): then
-- this view is empty and typed, and every series' history starts in the release itself.

{% if idc_qc.idc_index_table_absent('prior_versions_index') %}

select
    cast(null as {{ dbt.type_string() }}) as SeriesInstanceUID,
    cast(null as {{ dbt.type_string() }}) as collection_id,
    cast(null as {{ dbt.type_string() }}) as Modality,
    cast(null as {{ dbt.type_bigint() }}) as min_idc_version,
    cast(null as {{ dbt.type_bigint() }}) as max_idc_version
from (select 1 as one) as no_rows
where 1 = 0

{% else %}

with source as (
    select * from {{ idc_qc.source_files('idc_index', 'prior_versions_index') }}
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

{% endif %}
