-- One row per instance of a series that is not a regular volume or that mixes localizers,
-- projections or MIPs with its volume: the instance's place in
-- its series. Instances sorted by their position along the slice normal, with the gap to the
-- previous and the next slice, and their in-plane offset from the line through the first and
-- the last slice (a gantry tilt moves every slice along that line; an off-axis slice leaves it).
--
-- Clean regular volumes are left out before anything is parsed or sorted, which keeps this
-- pass small: the series-level verdicts come from int_series__geometry_aggregated, without a
-- window. The instances come parsed from int_instances__geometry_parsed where it is a table
-- (input in arbitrary order: each series' rows together); where it is a view (series-ordered
-- input, macro instances_parsed_as_view) the rows of the series to review are parsed here, with
-- its parsing (macro geometry_parse_instances), after the join: only they are parsed.
-- Localizers, projections and MIPs are kept (a curator looks for them) but have no position.
--
-- Narrow on purpose: the values as written (ImagePositionPatient, ...) are not carried. Lists
-- of strings make the sort behind the window several times slower and most reviewed instances
-- are not offending; instance_geometry fetches them for the offending instances only.

{%- set parse_here = idc_qc.instances_parsed_as_view() %}

with judged as (
    select * from {{ ref('int_series__geometry_judged') }}
),

series_to_review as (
    select
        -- a small integer key for the sort below: cheaper to partition and join on than the UID
        row_number() over (order by SeriesInstanceUID) as series_key,
        SeriesInstanceUID,
        geometry_category,
        -- the series may list an instance twice (unless known not to): only its rows are
        -- grouped one row per instance
        not coalesce(duplicated_instance_row_count = 0, false) as lists_an_instance_twice,
        volumetric_instance_count,
        single_orientation,
        same_orientation,
        positions_parsed,
        -- the one orientation of a single-orientation series: the instances that have it do
        -- not carry it through the sort, it is put back after
        case when single_orientation then reference_orientation end as series_orientation,
        nominal_slice_spacing_mm,
        consistent_in_plane_row,
        consistent_in_plane_col,
        missing_slice_count,
        largest_gap_ratio,
        smallest_gap_ratio,
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

{%- for part in ['', 'duplicated_'] %}
{%- set relation = part ~ ('instances_to_review' if parse_here else 'projected') %}
-- the {{ 'raw' if parse_here else 'parsed' }} rows of the series to review: {{ 'those of the series that list every instance once' if not part else 'apart (almost always none) those that list one twice, grouped one row per instance below' }}
{{ relation }} as (
    select
        instances.*,
        series_to_review.series_key,
        series_to_review.series_orientation
    -- read in each of the two (a CTE read twice would be materialised: every instance copied)
    from {{ ref('int_instances__slices') if parse_here else ref('int_instances__geometry_parsed') }} as instances
    inner join series_to_review
        on instances.SeriesInstanceUID = series_to_review.SeriesInstanceUID
    -- the series UID is usable (joined to a judged series); the instance UID must be too
    where {{ idc_qc.has_text('instances.SOPInstanceUID') }}
        and {{ 'not' if not part }} series_to_review.lists_an_instance_twice
),
{% if parse_here %}
{{ idc_qc.geometry_parse_instances(relation, carry=['series_key', 'series_orientation'], prefix=part) }},
{% endif %}
{%- endfor %}

-- narrow: the sort behind the window carries every column it is given, so the UIDs of the
-- series and everything per series are joined after it, on the integer key. Computed once
-- for its two readers (the window and the orientation counts). One row per instance: an
-- instance listed twice counts once (as in int_series__geometry_aggregated); copies that
-- disagree on the position or orientation are flagged. Only the series that list an
-- instance twice are grouped (a GROUP BY of every reviewed instance costs about as much as
-- the window); the rows of the others are already one per instance.
to_review as {{ idc_qc.materialized_cte() }} (
    select
        series_key,
        SOPInstanceUID,
        false as has_conflicting_copies,
        InstanceNumber,
        is_volumetric,
        is_localizer,
        is_mip,
        is_projection,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        has_malformed_dimensions,
        coalesce(orientation_text = series_orientation, false) as has_series_orientation,
        case when coalesce(orientation_text = series_orientation, false) then null else orientation_text end as other_orientation_text,
        {%- for column in ['slice_position', 'in_plane_row', 'in_plane_column'] %}
        case when is_volumetric and ipp_status = 'ok' and iop_status = 'ok' then {{ column }} end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from projected

    union all

    select
        series_key,
        SOPInstanceUID,
        count(*) > 1 and (
            coalesce(min(ipp_x) < max(ipp_x) or min(ipp_y) < max(ipp_y) or min(ipp_z) < max(ipp_z)
                or min(orientation_text) < max(orientation_text), false)
            or count(ipp_x) not in (0, count(*))) as has_conflicting_copies,
        any_value(InstanceNumber) as InstanceNumber,
        any_value(is_volumetric) as is_volumetric,
        any_value(is_localizer) as is_localizer,
        any_value(is_mip) as is_mip,
        any_value(is_projection) as is_projection,
        any_value(ipp_status) as ipp_status,
        any_value(iop_status) as iop_status,
        any_value(pixel_spacing_status) as pixel_spacing_status,
        any_value(has_malformed_dimensions) as has_malformed_dimensions,
        coalesce(any_value(orientation_text) = any_value(series_orientation), false) as has_series_orientation,
        case when coalesce(any_value(orientation_text) = any_value(series_orientation), false) then null else any_value(orientation_text) end as other_orientation_text,
        -- positions of volumetric instances whose position and orientation parsed to finite
        -- numbers only: a NaN would end the stack and put every slice off-axis
        {%- for column in ['slice_position', 'in_plane_row', 'in_plane_column'] %}
        any_value(case when is_volumetric and ipp_status = 'ok' and iop_status = 'ok' then {{ column }} end) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from duplicated_projected
    group by series_key, SOPInstanceUID
),

windowed as (
    select
        *,
        slice_position - lag(slice_position) over slice_order as gap_to_previous_mm,
        lead(slice_position) over slice_order - slice_position as gap_to_next_mm
    from to_review
    window slice_order as (partition by series_key order by slice_position, SOPInstanceUID)
),

-- the orientation most volumetric instances of a series share (the smallest as written on a
-- tie): an aggregate over the few orientations of each multi-orientation series, not a window
-- over instances (a single-orientation series' majority is its orientation)
orientation_counts as (
    select
        series_key,
        other_orientation_text as orientation_text,
        count(*) as instance_count
    from to_review
    where is_volumetric and other_orientation_text is not null
    group by series_key, other_orientation_text
),

ranked_orientations as (
    select
        series_key,
        orientation_text,
        row_number() over (partition by series_key order by instance_count desc, orientation_text) as rank_in_series
    from orientation_counts
),

placed as (
    select
        series_to_review.SeriesInstanceUID,
        windowed.*,
        case
            when windowed.has_series_orientation then series_to_review.series_orientation
            else windowed.other_orientation_text
        end as orientation_text,
        case
            when series_to_review.single_orientation then series_to_review.series_orientation
            else ranked_orientations.orientation_text
        end as majority_orientation,
        {{ idc_qc.safe_divide(
            'windowed.slice_position - series_to_review.first_slice_position',
            'series_to_review.last_slice_position - series_to_review.first_slice_position') }} as stack_fraction,
        series_to_review.geometry_category,
        series_to_review.volumetric_instance_count,
        series_to_review.single_orientation,
        series_to_review.same_orientation,
        series_to_review.positions_parsed,
        series_to_review.nominal_slice_spacing_mm,
        series_to_review.consistent_in_plane_row,
        series_to_review.consistent_in_plane_col,
        series_to_review.missing_slice_count,
        series_to_review.largest_gap_ratio,
        series_to_review.smallest_gap_ratio,
        series_to_review.first_in_plane_row,
        series_to_review.last_in_plane_row,
        series_to_review.first_in_plane_column,
        series_to_review.last_in_plane_column
    from windowed
    inner join series_to_review
        on windowed.series_key = series_to_review.series_key
    left join ranked_orientations
        on windowed.series_key = ranked_orientations.series_key
        and ranked_orientations.rank_in_series = 1
),

final as (
    select
        SeriesInstanceUID,
        SOPInstanceUID,
        InstanceNumber,
        is_volumetric,
        is_localizer,
        is_mip,
        is_projection,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        has_malformed_dimensions,
        has_conflicting_copies,
        orientation_text,
        slice_position,
        gap_to_previous_mm,
        gap_to_next_mm,
        in_plane_row,
        in_plane_column,
        in_plane_row - (first_in_plane_row + coalesce(stack_fraction, 0) * (last_in_plane_row - first_in_plane_row)) as in_plane_row_offset_mm,
        in_plane_column - (first_in_plane_column + coalesce(stack_fraction, 0) * (last_in_plane_column - first_in_plane_column)) as in_plane_col_offset_mm,
        majority_orientation,

        -- the series' verdict the instance is reviewed under (int_series__geometry_judged)
        geometry_category,
        volumetric_instance_count,
        single_orientation,
        same_orientation,
        positions_parsed,
        nominal_slice_spacing_mm,
        consistent_in_plane_row,
        consistent_in_plane_col,
        missing_slice_count,
        largest_gap_ratio,
        smallest_gap_ratio
    from placed
)

select * from final
