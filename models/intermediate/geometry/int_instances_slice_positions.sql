-- One row per instance of a series that is not a regular volume or that mixes localizers,
-- projections or MIPs with its volume: the instance's place in
-- its series. Instances sorted by their position along the slice normal, with the gap to the
-- previous and the next slice, and their in-plane offset from the line through the first and
-- the last slice (a gantry tilt moves every slice along that line; an off-axis slice leaves it).
--
-- Clean regular volumes are left out before anything is parsed or sorted, which keeps this
-- pass small: the series-level verdicts come from int_series_geometry_aggregated, without a
-- window. The parsing is int_instances_geometry_parsed's own (macro geometry_parse_instances).
-- Localizers, projections and MIPs are kept (a curator looks for them) but have no position.

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
),

judged as (
    select * from {{ ref('int_series_geometry_judged') }}
),

series_to_review as (
    select
        SeriesInstanceUID,
        first_slice_position,
        last_slice_position,
        first_in_plane_row,
        last_in_plane_row,
        first_in_plane_column,
        last_in_plane_column
    from judged
    where geometry_category <> 'regular_volume'
        or localizer_instance_count + projection_instance_count > 0
),

-- the raw rows of those series only, so that only they are parsed
instances_to_review as (
    select instances.*
    from instances
    inner join series_to_review
        on instances.SeriesInstanceUID = series_to_review.SeriesInstanceUID
),

{{ idc_qc.geometry_parse_instances('instances_to_review') }},

to_review as (
    select
        projected.SeriesInstanceUID,
        projected.SOPInstanceUID,
        projected.InstanceNumber,
        projected.ImagePositionPatient,
        projected.ImageOrientationPatient,
        projected.PixelSpacing,
        projected.is_volumetric,
        projected.is_localizer,
        projected.is_mip,
        projected.is_projection,
        projected.ipp_status,
        projected.iop_status,
        projected.pixel_spacing_status,
        projected.orientation_text,
        case when projected.is_volumetric then projected.slice_position end as slice_position,
        case when projected.is_volumetric then projected.in_plane_row end as in_plane_row,
        case when projected.is_volumetric then projected.in_plane_column end as in_plane_column,
        series_to_review.first_slice_position,
        series_to_review.last_slice_position,
        series_to_review.first_in_plane_row,
        series_to_review.last_in_plane_row,
        series_to_review.first_in_plane_column,
        series_to_review.last_in_plane_column
    from projected
    inner join series_to_review
        on projected.SeriesInstanceUID = series_to_review.SeriesInstanceUID
),

windowed as (
    select
        *,
        slice_position - lag(slice_position) over slice_order as gap_to_previous_mm,
        lead(slice_position) over slice_order - slice_position as gap_to_next_mm,
        {{ idc_qc.safe_divide('slice_position - first_slice_position', 'last_slice_position - first_slice_position') }} as stack_fraction
    from to_review
    window slice_order as (partition by SeriesInstanceUID order by slice_position, SOPInstanceUID)
),

-- the orientation most volumetric instances of a series share (the smallest as written on a
-- tie): an aggregate over the few orientations of each series, not a window over instances
orientation_counts as (
    select
        SeriesInstanceUID,
        orientation_text,
        count(*) as instance_count
    from to_review
    where is_volumetric and orientation_text is not null
    group by SeriesInstanceUID, orientation_text
),

ranked_orientations as (
    select
        SeriesInstanceUID,
        orientation_text,
        row_number() over (partition by SeriesInstanceUID order by instance_count desc, orientation_text) as rank_in_series
    from orientation_counts
),

majority as (
    select
        windowed.*,
        ranked_orientations.orientation_text as majority_orientation
    from windowed
    left join ranked_orientations
        on windowed.SeriesInstanceUID = ranked_orientations.SeriesInstanceUID
        and ranked_orientations.rank_in_series = 1
),

final as (
    select
        SeriesInstanceUID,
        SOPInstanceUID,
        InstanceNumber,
        ImagePositionPatient,
        ImageOrientationPatient,
        PixelSpacing,
        is_volumetric,
        is_localizer,
        is_mip,
        is_projection,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        orientation_text,
        slice_position,
        gap_to_previous_mm,
        gap_to_next_mm,
        in_plane_row,
        in_plane_column,
        in_plane_row - (first_in_plane_row + coalesce(stack_fraction, 0) * (last_in_plane_row - first_in_plane_row)) as in_plane_row_offset_mm,
        in_plane_column - (first_in_plane_column + coalesce(stack_fraction, 0) * (last_in_plane_column - first_in_plane_column)) as in_plane_col_offset_mm,
        majority_orientation
    from majority
)

select * from final
