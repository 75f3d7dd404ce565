-- Which CT series are regularly spaced 3D volumes, by collection and manufacturer: the
-- paper's "identify images not suitable for a specific AI model without downloading the
-- data" (Fedorov et al., RadioGraphics 2023, Explore / Subset). IDC's own verdict
-- (regularly_spaced_3d_volume, NULL when a check cannot run) beside idc-qc's category.

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

series as (
    select * from {{ ref('series') }}
),

final as (
    select
        series_geometry.collection_id,
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        count(*) as ct_series,
        sum(case when series_geometry.regularly_spaced_3d_volume then 1 else 0 end) as idc_regular_volumes,
        sum(case when series_geometry.geometry_category = 'regular_volume' then 1 else 0 end) as idc_qc_regular_volumes,
        {{ idc_qc.safe_divide(
            'sum(case when series_geometry.geometry_category = \'regular_volume\' then 1 else 0 end)',
            'count(*)') }} as regular_share
    from series_geometry
    left join series
        on series_geometry.SeriesInstanceUID = series.SeriesInstanceUID
    where series_geometry.Modality = 'CT'
    group by series_geometry.collection_id, coalesce(series.manufacturer_harmonized, 'unknown')
)

select * from final
order by ct_series desc, collection_id, manufacturer
