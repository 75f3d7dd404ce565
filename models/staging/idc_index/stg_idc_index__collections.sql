-- One row per IDC collection.
-- Releases before v23 ship no collections_index (var `idc_index_tables_absent`): then this
-- view is empty and typed (collection names are unknown for those releases; collection_id
-- on every series still comes from idc_index).

{% if idc_qc.idc_index_table_absent('collections_index') %}

select
    cast(null as {{ dbt.type_string() }}) as collection_id,
    cast(null as {{ dbt.type_string() }}) as collection_name,
    cast(null as {{ dbt.type_string() }}) as cancer_types,
    cast(null as {{ dbt.type_string() }}) as tumor_locations,
    cast(null as {{ dbt.type_string() }}) as species,
    cast(null as {{ dbt.type_bigint() }}) as subject_count,
    cast(null as {{ dbt.type_string() }}) as program_id
from (select 1 as one) as no_rows
where 1 = 0

{% else %}

with source as (
    select * from {{ idc_qc.source_files('idc_index', 'collections_index') }}
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

{% endif %}
