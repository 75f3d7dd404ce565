{{ config(materialized='table') }}
-- One row per series: the single pass of the geometry models over the instances. Every
-- term IDC's volume_geometry_index.sql needs, and the numbers behind the failure reasons,
-- come out of one GROUP BY.
--
-- IDC sorts the instances of each series by position with a window (LEAD) and counts
-- distinct values. Here the positions of a series are gathered into one sorted array in the
-- same GROUP BY, and the gaps between neighbours are read off that array: no window, no
-- second pass, no COUNT(DISTINCT) over the instances (a count of one distinct value is
-- min = max; a count of distinct sorted positions is the positions minus the neighbours that
-- share one). That makes this pass faster than a window over the instances, which has to
-- carry every column through a sort. Materialised as a table: one row per series, read twice.

{%- set near_duplicate = 'element_ = 0 or element_ < ' ~ var('relative_slice_tolerance') ~ ' * nominal_slice_spacing_mm' %}

with parsed as (
    select * from {{ ref('int_instances_geometry_parsed') }}
),

-- one row per instance: an instance listed twice (one file matched twice by a glob) counts
-- once, and its extra rows are counted. Copies that disagree on the position or orientation
-- are flagged (which copy is right cannot be told; the series is malformed_geometry). A hash
-- aggregate on (series, instance): no sort.
deduplicated as (
    select
        SeriesInstanceUID,
        SOPInstanceUID,
        count(*) as row_copies,
        coalesce(min(ipp_x) < max(ipp_x) or min(ipp_y) < max(ipp_y) or min(ipp_z) < max(ipp_z)
            or min(orientation_text) < max(orientation_text), false)
            or (count(*) > 1 and count(ipp_x) not in (0, count(*))) as has_conflicting_copies,
        {%- for column in [
            'Modality', 'is_volumetric', 'is_idc_sop_class', 'is_localizer', 'is_mip', 'is_projection', 'is_mosaic',
            'ipp_status', 'iop_status', 'pixel_spacing_status', 'number_of_frames', 'has_malformed_dimensions',
            'ipp_x', 'ipp_y', 'ipp_z',
            'row_cosine_x', 'row_cosine_y', 'row_cosine_z',
            'column_cosine_x', 'column_cosine_y', 'column_cosine_z',
            'normal_magnitude', 'orientation_error',
            'slice_position', 'in_plane_row', 'in_plane_column',
            'orientation_text', 'pixel_spacing_text', 'pixel_spacing_row_mm', 'pixel_spacing_column_mm',
            adapter.quote('Rows'), adapter.quote('Columns'),
            'gantry_detector_tilt',
            'TemporalPositionIdentifier', 'EchoTime', 'AcquisitionNumber', 'DiffusionBValue',
            'image_type_text'
        ] %}
        any_value({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from parsed
    group by SeriesInstanceUID, SOPInstanceUID
),

-- geometry of the volumetric instances only: localizers, projections and MIPs get NULLs,
-- so every aggregate below describes the volume while the counts still see every instance
volumetric as (
    select
        SeriesInstanceUID,
        Modality,
        SOPInstanceUID,
        row_copies,
        has_conflicting_copies,
        is_volumetric,
        is_idc_sop_class,
        is_localizer,
        is_mip,
        is_projection,
        is_mosaic,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        number_of_frames,
        has_malformed_dimensions,
        {{ adapter.quote('Rows') }} is not null as has_pixel_matrix,
        {%- for column in [
            'ipp_x', 'ipp_y', 'ipp_z',
            'row_cosine_x', 'row_cosine_y', 'row_cosine_z',
            'column_cosine_x', 'column_cosine_y', 'column_cosine_z',
            'normal_magnitude', 'orientation_error',
            'slice_position', 'in_plane_row', 'in_plane_column',
            'orientation_text', 'pixel_spacing_text', 'pixel_spacing_row_mm', 'pixel_spacing_column_mm',
            adapter.quote('Rows'), adapter.quote('Columns'),
            'gantry_detector_tilt',
            'TemporalPositionIdentifier', 'EchoTime', 'AcquisitionNumber', 'DiffusionBValue',
            'image_type_text'
        ] %}
        case when is_volumetric then {{ column }} end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from deduplicated
),

aggregated as (
    select
        SeriesInstanceUID,
        min(Modality) as Modality,

        -- what the series holds
        count(*) as instance_count,
        cast(sum(row_copies - 1) as {{ dbt.type_bigint() }}) as duplicated_instance_row_count,
        count(case when has_conflicting_copies then 1 end) as conflicting_duplicate_instance_count,
        count(case when is_volumetric then 1 end) as volumetric_instance_count,
        count(case when is_localizer then 1 end) as localizer_instance_count,
        count(case when (is_mip or is_projection) and not is_localizer then 1 end) as projection_instance_count,
        count(case when is_idc_sop_class then 1 end) as idc_sop_class_instance_count,
        count(case when is_localizer or is_mip then 1 end) as idc_excluded_instance_count,
        count(case when is_volumetric and is_mosaic then 1 end) as mosaic_instance_count,
        count(case when has_pixel_matrix and not (is_localizer or is_mip or is_projection) then 1 end) as image_instance_count,
        max(number_of_frames) as max_number_of_frames,

        -- parse failures among the volumetric instances
        count(case when is_volumetric and ipp_status = 'missing' then 1 end) as ipp_missing_count,
        count(case when is_volumetric and ipp_status not in ('ok', 'missing') then 1 end) as ipp_malformed_count,
        count(case when is_volumetric and iop_status = 'missing' then 1 end) as iop_missing_count,
        count(case when is_volumetric and iop_status not in ('ok', 'missing') then 1 end) as iop_malformed_count,
        count(case when is_volumetric and pixel_spacing_status = 'missing' then 1 end) as pixel_spacing_missing_count,
        count(case when is_volumetric and pixel_spacing_status not in ('ok', 'missing') then 1 end) as pixel_spacing_malformed_count,
        count(case when is_volumetric and ({{ adapter.quote('Rows') }} is null or {{ adapter.quote('Columns') }} is null) then 1 end) as dimensions_missing_count,
        count(case when is_volumetric and has_malformed_dimensions then 1 end) as dimensions_malformed_count,

        -- orientation, pixel spacing and matrix size: IDC compares them as written
        min(orientation_text) as min_orientation_text,
        max(orientation_text) as max_orientation_text,
        -- HyperLogLog estimate (exact for one and two orientations, see series_geometry)
        approx_count_distinct(orientation_text) as approx_orientation_count,
        min(pixel_spacing_text) as min_pixel_spacing_text,
        max(pixel_spacing_text) as max_pixel_spacing_text,
        min({{ adapter.quote('Rows') }}) as min_rows,
        max({{ adapter.quote('Rows') }}) as max_rows,
        min({{ adapter.quote('Columns') }}) as min_columns,
        max({{ adapter.quote('Columns') }}) as max_columns,
        min(normal_magnitude) as min_normal_magnitude,
        max(normal_magnitude) as max_normal_magnitude,
        max(orientation_error) as max_orientation_error,

        -- orientation and pixel spacing as numbers: how far apart the values of the series
        -- are (1 and 1.0, -0 and 0, 1.000000 and 0.999999 are one orientation)
        {{ idc_qc.greatest_or_null([
            'max(row_cosine_x) - min(row_cosine_x)', 'max(row_cosine_y) - min(row_cosine_y)', 'max(row_cosine_z) - min(row_cosine_z)',
            'max(column_cosine_x) - min(column_cosine_x)', 'max(column_cosine_y) - min(column_cosine_y)', 'max(column_cosine_z) - min(column_cosine_z)'
        ]) }} as orientation_spread,
        min(pixel_spacing_row_mm) as min_pixel_spacing_row_mm,
        max(pixel_spacing_row_mm) as max_pixel_spacing_row_mm,
        min(pixel_spacing_column_mm) as min_pixel_spacing_column_mm,
        max(pixel_spacing_column_mm) as max_pixel_spacing_column_mm,

        -- positions along the normal
        count(slice_position) as positioned_instance_count,
        count(case when is_volumetric then SOPInstanceUID end) as volumetric_sop_count,
        min(slice_position) as min_slice_position,
        max(slice_position) as max_slice_position,
        {{ idc_qc.array_agg_sorted('slice_position') }} as sorted_positions,

        -- in-plane offsets: IDC's range test
        min(in_plane_row) as min_in_plane_row,
        max(in_plane_row) as max_in_plane_row,
        min(in_plane_column) as min_in_plane_column,
        max(in_plane_column) as max_in_plane_column,
        -- how linearly the in-plane offsets follow the position: +-1 for a gantry tilt (every
        -- slice shifted in proportion), near 0 for one shifted slice
        corr(in_plane_row, slice_position) as in_plane_row_trend,
        corr(in_plane_column, slice_position) as in_plane_column_trend,

        -- the first slice (lowest position): origin and orientation of the volume; its normal
        -- also gives IDC's obliquity, which IDC reads from an arbitrary instance (the same
        -- one when the orientation is single, the only case where obliquity means anything)
        {%- for column in ['ipp_x', 'ipp_y', 'ipp_z',
                           'row_cosine_x', 'row_cosine_y', 'row_cosine_z',
                           'column_cosine_x', 'column_cosine_y', 'column_cosine_z'] %}
        {{ idc_qc.min_by(column, 'slice_position') }} as first_{{ column }},
        {%- endfor %}
        -- the last slice (highest position): the stacking direction runs first to last
        {%- for column in ['ipp_x', 'ipp_y', 'ipp_z'] %}
        {{ idc_qc.max_by(column, 'slice_position') }} as last_{{ column }},
        {%- endfor %}

        -- GantryDetectorTilt as written, the value of largest magnitude
        {{ idc_qc.max_by('gantry_detector_tilt', 'abs(gantry_detector_tilt)') }} as gantry_detector_tilt,

        -- the attributes that may tell stacks apart: do they vary within the series?
        {%- for column in ['TemporalPositionIdentifier', 'EchoTime', 'AcquisitionNumber', 'DiffusionBValue'] %}
        coalesce(min({{ column }}) < max({{ column }}), false) as {{ column }}_varies,
        {%- endfor %}
        coalesce(min(image_type_text) < max(image_type_text), false) as ImageType_varies
    from volumetric
    group by SeriesInstanceUID
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
    select {{ idc_qc.star_except(['sorted_positions', 'gaps']) }}
    from tolerant_gap_statistics
)

select * from final
