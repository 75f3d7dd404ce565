-- One row per collection and modality: of the series meant to be one regular volume (the
-- regular volumes and the series of a failing geometry category: irregular, malformed,
-- several stacks), the share that is a regular volume. The release-level gate of
-- `idc-qc check` (suite rpt_qc_regular_share) holds it against min_regular_share of
-- expectations/thresholds.yml. Single slices, pairs, localizers, mosaics and series without
-- geometry say what a series is, not that it is broken: they are not counted.

{%- set failing_categories = "('" ~ idc_qc.qc_failing_geometry_categories() | join("', '") ~ "')" %}

with series_geometry as (
    select * from {{ ref('series_geometry') }}
),

candidates as (
    select
        coalesce(collection_id, 'unknown') as collection_id,
        coalesce(Modality, 'unknown') as Modality,
        geometry_category
    from series_geometry
    where geometry_category = 'regular_volume' or geometry_category in {{ failing_categories }}
),

counted as (
    select
        collection_id,
        Modality,
        count(*) as candidate_series,
        count(case when geometry_category = 'regular_volume' then 1 end) as regular_series
    from candidates
    group by collection_id, Modality
),

final as (
    select
        collection_id,
        Modality,
        candidate_series,
        regular_series,
        {{ idc_qc.safe_divide('cast(regular_series as ' ~ idc_qc.type_double() ~ ')', 'candidate_series') }} as regular_share
    from counted
)

select * from final
