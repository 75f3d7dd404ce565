-- The paper's "share the selection" step for curators: the failing CT series of one collection
-- with what to look at and a viewer link (dbt var review_collection, default nlst).

with failures as (
    select * from {{ ref('rpt_geometry_failures') }}
),

final as (
    select
        collection_id,
        SeriesInstanceUID,
        geometry_category,
        viewer_url
    from failures
    where collection_id = {{ dbt.string_literal(var('review_collection', 'nlst')) }}
)

select * from final
order by geometry_category, SeriesInstanceUID
