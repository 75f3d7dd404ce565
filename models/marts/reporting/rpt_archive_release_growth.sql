-- How the archive grew: series, instances and size added per IDC release and collection,
-- by the release that first held each series (series.first_idc_release, from the index's
-- release history) with that release's date. Series the index does not date (input-only
-- series) are left out here and counted in rpt_archive_collections.series_without_release.

with series as (
    select * from {{ ref('series') }}
),

final as (
    select
        first_idc_release as idc_release,
        min(first_release_date) as release_date,
        coalesce(collection_id, 'unknown') as collection_id,
        count(*) as series_added,
        cast(coalesce(sum(instance_count), 0) as {{ dbt.type_bigint() }}) as instances_added,
        coalesce({{ idc_qc.sum_exact('series_size_mb') }}, 0) as size_added_mb
    from series
    where first_idc_release is not null
    group by first_idc_release, coalesce(collection_id, 'unknown')
)

select * from final
