-- One row per series with the set of checks it fails, as booleans: the input of an UpSet
-- plot (which combinations of IDC's checks, or of our reasons, occur together). An IDC check
-- counts as failed when it is FALSE; NULL (not evaluated, e.g. spacing with one instance) is
-- not a failure. One boolean per series-level reason of seeds/geometry_reasons.csv (the
-- column list comes from macros/reporting/geometry_vocabulary_columns.sql, kept equal to the
-- seed by tests/unit/test_vocabulary.py).

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

series as (
    select * from {{ ref('series') }}
),

final as (
    select
        series_geometry.SeriesInstanceUID,
        series_geometry.collection_id,
        series_geometry.Modality,
        -- 'unknown' when absent or a placeholder, as in every rpt_* count (so a filter
        -- or a group by on manufacturer finds those series too)
        coalesce(series.manufacturer_harmonized, 'unknown') as manufacturer,
        series_geometry.geometry_category,
        series_geometry.failure_reasons,
        {%- for check in idc_qc.idc_geometry_checks() %}
        coalesce(not series_geometry.{{ check }}, false) as fails_{{ check }},
        {%- endfor %}
        {%- for key, label in idc_qc.geometry_series_reasons() %}
        {{ idc_qc.array_any_matches('series_geometry.failure_reasons', values=[label]) }} as reason_{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from series_geometry
    left join series
        on series_geometry.SeriesInstanceUID = series.SeriesInstanceUID
)

select * from final
