-- Series per geometry category, by collection, modality and manufacturer: what the geometry
-- summary's first chart and any dashboard read, so no report aggregates series_geometry
-- again. Missing grouping values read 'unknown' (a chart needs a label, a key no NULL).

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

series as (
    select * from {{ ref('series') }}
),

labelled as (
    select
        series_geometry.geometry_category,
        coalesce(series_geometry.collection_id, 'unknown') as collection_id,
        coalesce(series_geometry.Modality, 'unknown') as Modality,
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        series_geometry.instance_count,
        series_geometry.regularly_spaced_3d_volume
    from series_geometry
    left join series
        on series_geometry.SeriesInstanceUID = series.SeriesInstanceUID
),

final as (
    select
        geometry_category,
        collection_id,
        Modality,
        manufacturer,
        count(*) as series_count,
        -- IDC's verdict beside ours: in a malformed_geometry row, the series IDC calls regular
        -- on malformed values (series_geometry.idc_regular_on_malformed_values)
        count(case when regularly_spaced_3d_volume then 1 end) as idc_regular_series_count,
        cast(sum(instance_count) as {{ dbt.type_bigint() }}) as instance_count
    from labelled
    group by geometry_category, collection_id, Modality, manufacturer
)

select * from final
