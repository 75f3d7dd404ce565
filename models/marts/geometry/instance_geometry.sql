-- One row per offending instance and reason: the instances a curator has to look at to see
-- why a series is not a regular volume, with the values that make them offend. Instances of
-- regular volumes never appear; an instance with two faults appears twice.

{%- set rel_tol = var('relative_slice_tolerance') %}
{%- set in_plane_tol = var('in_plane_tolerance') %}

with slice_positions as (
    select * from {{ ref('int_instances_slice_positions') }}
),

judged as (
    select * from {{ ref('int_series_geometry_judged') }}
),

measured as (
    select
        slice_positions.*,
        judged.geometry_category,
        judged.volumetric_instance_count,
        judged.single_orientation,
        judged.nominal_slice_spacing_mm,
        coalesce(judged.consistent_in_plane_row and judged.consistent_in_plane_col, false) as aligned_in_plane,
        judged.missing_slice_count > 0
            or coalesce(judged.largest_gap_ratio > 1 + {{ rel_tol }}, false) as has_gaps,
        {{ idc_qc.safe_divide('slice_positions.gap_to_next_mm', 'judged.nominal_slice_spacing_mm') }} as gap_ratio
    from slice_positions
    inner join judged
        on slice_positions.SeriesInstanceUID = judged.SeriesInstanceUID
),

flagged as (
    select
        *,
        volumetric_instance_count > 0 and is_localizer as flag_localizer,
        volumetric_instance_count > 0 and (is_mip or is_projection) and not is_localizer as flag_projection,
        is_volumetric and geometry_category <> 'missing_geometry' and ipp_status = 'missing' as flag_ipp_missing,
        is_volumetric and ipp_status not in ('ok', 'missing') as flag_ipp_malformed,
        is_volumetric and iop_status = 'missing' as flag_iop_missing,
        is_volumetric and iop_status not in ('ok', 'missing') as flag_iop_malformed,
        is_volumetric and pixel_spacing_status = 'missing' as flag_pixel_spacing_missing,
        is_volumetric and pixel_spacing_status not in ('ok', 'missing') as flag_pixel_spacing_malformed,
        geometry_category not in ('multi_stack', 'mosaic')
            and coalesce(gap_to_previous_mm = 0 or gap_to_next_mm = 0, false) as flag_duplicate,
        has_gaps and single_orientation and coalesce(gap_ratio > 1 + {{ rel_tol }}, false) as flag_gap,
        not aligned_in_plane and single_orientation
            and coalesce(abs(in_plane_row_offset_mm) >= {{ in_plane_tol }} or abs(in_plane_col_offset_mm) >= {{ in_plane_tol }}, false) as flag_off_axis,
        is_volumetric and not single_orientation and orientation_text <> majority_orientation as flag_other_orientation
    from measured
),

offending as (
    select * from flagged
    where flag_localizer or flag_projection or flag_ipp_missing or flag_ipp_malformed
        or flag_iop_missing or flag_iop_malformed or flag_pixel_spacing_missing or flag_pixel_spacing_malformed
        or flag_duplicate or flag_gap or flag_off_axis or flag_other_orientation
),

with_reasons as (
    select
        *,
        {{ idc_qc.array_compact("[
            case when flag_localizer then 'localizer' end,
            case when flag_projection then 'projection or MIP' end,
            case when flag_ipp_missing then 'missing ImagePositionPatient' end,
            case when flag_ipp_malformed then 'malformed ImagePositionPatient' end,
            case when flag_iop_missing then 'missing ImageOrientationPatient' end,
            case when flag_iop_malformed then 'malformed ImageOrientationPatient' end,
            case when flag_pixel_spacing_missing then 'missing PixelSpacing' end,
            case when flag_pixel_spacing_malformed then 'malformed PixelSpacing' end,
            case when flag_duplicate then 'duplicate slice position' end,
            case when flag_gap then 'before a gap' end,
            case when flag_off_axis then 'off-axis' end,
            case when flag_other_orientation then 'other orientation' end
        ]") }} as reasons
    from offending
),

final as (
    select
        SeriesInstanceUID,
        SOPInstanceUID,
        InstanceNumber,
        reason,
        geometry_category,
        ImagePositionPatient,
        ImageOrientationPatient,
        PixelSpacing,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        slice_position as slice_position_mm,
        gap_to_previous_mm,
        gap_to_next_mm,
        gap_ratio,
        nominal_slice_spacing_mm,
        in_plane_row_offset_mm,
        in_plane_col_offset_mm,
        orientation_text as orientation,
        majority_orientation
    from with_reasons
    {{ idc_qc.cross_join_unnest('with_reasons.reasons', 'reason') }}
)

select * from final
