{{ config(materialized='table') }}
-- One row per series: the single pass of the geometry models over the instances. Every
-- term IDC's volume_geometry_index.sql needs, and the numbers behind the failure reasons,
-- come out of one GROUP BY.
--
-- IDC sorts the instances of each series by position with a window (LEAD) and counts
-- distinct values. Here the positions of a series are gathered into one sorted array in the
-- same GROUP BY, and the gaps between neighbours are read off that array: no window, no
-- second pass over the instances (a count of one distinct value is min = max; a count of
-- distinct sorted positions is the positions minus the neighbours that share one; a count
-- of distinct SOPInstanceUID hashes finds the series that may list an instance twice, which
-- alone are aggregated again, one row per instance). That makes this pass faster than a
-- window over the instances, which has to carry every column through a sort. Materialised
-- as a table: one row per series, read twice.

{%- set near_duplicate = 'element_ = 0 or element_ < ' ~ var('relative_slice_tolerance') ~ ' * nominal_slice_spacing_mm' %}

with instances_parsed as (
    select
        *,
        1 as row_copies,
        false as has_conflicting_copies
    from {{ ref('int_instances__geometry_parsed') }}
),

-- Every series in one pass (instance_count counts rows here; distinct_instance_count is
-- count(*) too, which is right for every series this pass is kept for: those that list no
-- instance twice).
{{ idc_qc.geometry_aggregate_series('instances_parsed', 'every_series') }},

aggregated_once as {{ idc_qc.materialized_cte() }} (
    select * from every_series
),

-- An instance listed twice (one file matched twice by a glob) shows as fewer distinct hashes
-- of the SOPInstanceUIDs than rows (macro distinct_hashes: cheaper than a
-- COUNT(DISTINCT), for which DuckDB materialises every parsed column of every instance once
-- more). A hash collision only sends a series the exact way below, which gives it the same row.
series_with_duplicates as (
    select SeriesInstanceUID
    from aggregated_once
    where coalesce(sop_instance_hash_count < instance_count, true)
),

-- those series again from their raw rows (so that only they are parsed twice), with the
-- parsing of int_instances__geometry_parsed (macro geometry_parse_instances)
duplicated_source as (
    select instances.*
    from {{ ref('int_instances__slices') }} as instances
    inner join series_with_duplicates
        on instances.SeriesInstanceUID = series_with_duplicates.SeriesInstanceUID
    where {{ idc_qc.has_text('instances.SOPInstanceUID') }}
),

{{ idc_qc.geometry_parse_instances('duplicated_source') }},

-- one row per instance: an instance listed twice (one file matched twice by a glob) counts
-- once, and its extra rows are counted. Copies that disagree on the position or orientation
-- are flagged (which copy is right cannot be told; the series is malformed_geometry).
deduplicated as (
    select
        SeriesInstanceUID,
        SOPInstanceUID,
        count(*) as row_copies,
        coalesce(min(ipp_x) < max(ipp_x) or min(ipp_y) < max(ipp_y) or min(ipp_z) < max(ipp_z)
            or min(orientation_text) < max(orientation_text), false)
            or (count(*) > 1 and count(ipp_x) not in (0, count(*))) as has_conflicting_copies,
        {%- for column in [
            'Modality', 'is_volumetric', 'is_idc_sop_class', 'is_localizer', 'is_mip', 'is_projection', 'is_mosaic', 'is_uih_mosaic',
            'ipp_status', 'iop_status', 'pixel_spacing_status', 'number_of_frames', 'frame_number', 'has_malformed_dimensions',
        ] + idc_qc.geometry_volume_columns() %}
        any_value({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from projected
    group by SeriesInstanceUID, SOPInstanceUID
),

{{ idc_qc.geometry_aggregate_series('deduplicated', 'deduplicated_series') }},

aggregated as (
    select * from aggregated_once
    where not coalesce(sop_instance_hash_count < instance_count, true)
    union all
    select * from deduplicated_series
),

-- the gaps between neighbouring positions, read off the sorted array
with_gaps as (
    select
        *,
        {{ idc_qc.array_gaps('sorted_positions') }} as gaps
    from aggregated
),

gap_statistics as (
    select
        *,
        {{ idc_qc.array_min('gaps') }} as min_gap_mm,
        {{ idc_qc.array_max('gaps') }} as max_gap_mm,
        -- neighbours at exactly the same position (IDC's distinct positions)
        coalesce({{ idc_qc.array_length(idc_qc.array_filter('gaps', 'element_ = 0')) }}, 0) as shared_position_count,
        -- the nominal spacing: the lower median of the gaps between distinct positions, robust
        -- to a missing slice (a gap too large) and to a near-duplicate (a gap far too small)
        {{ idc_qc.array_lower_median(idc_qc.array_filter('gaps', 'element_ > 0')) }} as nominal_slice_spacing_mm
    from with_gaps
),

-- two slices closer than the spacing tolerance (relative_slice_tolerance of the nominal
-- spacing) are one position: near-duplicates, not a spacing of their own
tolerant_gap_statistics as (
    select
        *,
        coalesce({{ idc_qc.array_length(idc_qc.array_filter('gaps', near_duplicate)) }}, 0) as near_shared_position_count,
        {{ idc_qc.array_max(idc_qc.array_filter('gaps', near_duplicate)) }} as duplicate_position_distance_mm,
        {{ idc_qc.array_min(idc_qc.array_filter('gaps', 'not (' ~ near_duplicate ~ ')')) }} as min_positive_gap_mm,
        -- distinct gaps between distinct positions, to 0.01 mm
        {{ idc_qc.array_count_distinct(idc_qc.array_transform(idc_qc.array_filter('gaps', 'not (' ~ near_duplicate ~ ')'), 'round(element_, 2)')) }} as distinct_gap_count
    from gap_statistics
),

final as (
    select {{ idc_qc.star_except(['sorted_positions', 'gaps', 'sop_instance_hash_count']) }}
    from tolerant_gap_statistics
)

select * from final
