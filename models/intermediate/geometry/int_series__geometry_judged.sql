{{ config(materialized='table') }}
-- One row per series: IDC's checks, the measures behind our failure reasons, the reasons
-- in plain words and the geometry category, all derived from the one aggregate row of the
-- series (int_series__geometry_aggregated). series_geometry publishes it; the instance-level
-- models read it to know which series to look into. docs/geometry.md explains the
-- categories and reasons. A table (one row per series), as three models read it.

{%- set rel_tol = var('relative_slice_tolerance') %}
{%- set in_plane_tol = var('in_plane_tolerance') %}
{%- set orientation_tol = var('orientation_tolerance') %}
{%- set row_column_cosine = idc_qc.safe_divide(
    'first_row_cosine_x * first_column_cosine_x + first_row_cosine_y * first_column_cosine_y + first_row_cosine_z * first_column_cosine_z',
    'sqrt(first_row_cosine_x * first_row_cosine_x + first_row_cosine_y * first_row_cosine_y + first_row_cosine_z * first_row_cosine_z)'
    ~ ' * sqrt(first_column_cosine_x * first_column_cosine_x + first_column_cosine_y * first_column_cosine_y + first_column_cosine_z * first_column_cosine_z)') %}

with aggregated as (
    select * from {{ ref('int_series__geometry_aggregated') }}
),

-- the normal of the first slice, and the first and last slice's in-plane offsets on its axes
first_slice as (
    select
        *,
        first_row_cosine_y * first_column_cosine_z - first_row_cosine_z * first_column_cosine_y as first_normal_x,
        first_row_cosine_z * first_column_cosine_x - first_row_cosine_x * first_column_cosine_z as first_normal_y,
        first_row_cosine_x * first_column_cosine_y - first_row_cosine_y * first_column_cosine_x as first_normal_z,
        first_ipp_x * first_row_cosine_x + first_ipp_y * first_row_cosine_y + first_ipp_z * first_row_cosine_z as first_in_plane_row,
        last_ipp_x * first_row_cosine_x + last_ipp_y * first_row_cosine_y + last_ipp_z * first_row_cosine_z as last_in_plane_row,
        first_ipp_x * first_column_cosine_x + first_ipp_y * first_column_cosine_y + first_ipp_z * first_column_cosine_z as first_in_plane_column,
        last_ipp_x * first_column_cosine_x + last_ipp_y * first_column_cosine_y + last_ipp_z * first_column_cosine_z as last_in_plane_column
    from aggregated
),

-- IDC's checks, each rewritten over the aggregates (see int_series__geometry_aggregated)
idc_checks as (
    select
        *,
        coalesce(min_orientation_text = max_orientation_text, false) as single_orientation,
        min_normal_magnitude between (1 - {{ orientation_tol }}) and (1 + {{ orientation_tol }})
            and max_normal_magnitude between (1 - {{ orientation_tol }}) and (1 + {{ orientation_tol }}) as orthogonal_orientation,
        -- IDC: COUNT(DISTINCT SOPInstanceUID) = COUNT(DISTINCT slicePosition); instances are
        -- counted here, the same as long as a series lists each SOPInstanceUID once
        volumetric_sop_count = positioned_instance_count - shared_position_count as unique_slice_positions,
        max_in_plane_row - min_in_plane_row < {{ in_plane_tol }} as consistent_in_plane_row,
        max_in_plane_column - min_in_plane_column < {{ in_plane_tol }} as consistent_in_plane_col,
        coalesce(min_pixel_spacing_text = max_pixel_spacing_text, false) as consistent_pixel_spacing,
        -- ours, as numbers within the tolerances: the direction cosines of every instance
        -- within orientation_tolerance of each other, pixel spacings within the relative
        -- tolerance (IDC compares the written strings: 1 and 1.0, 0.5 and 0.50 differ there)
        orientation_spread <= {{ orientation_tol }} as same_orientation,
        max_pixel_spacing_row_mm - min_pixel_spacing_row_mm <= {{ rel_tol }} * abs(max_pixel_spacing_row_mm)
            and max_pixel_spacing_column_mm - min_pixel_spacing_column_mm <= {{ rel_tol }} * abs(max_pixel_spacing_column_mm) as same_pixel_spacing,
        coalesce(min_rows = max_rows, false) and coalesce(min_columns = max_columns, false) as consistent_image_dimensions,
        -- IDC's expected spacing: first-to-last span over (number of instances - 1)
        {{ idc_qc.safe_divide('max_slice_position - min_slice_position', 'volumetric_instance_count - 1') }} as expected_slice_spacing_mm,
        round({{ idc_qc.radians_to_degrees(
            'acos(' ~ idc_qc.safe_divide(
                idc_qc.greatest_or_null(['abs(first_normal_x)', 'abs(first_normal_y)', 'abs(first_normal_z)']),
                'sqrt(first_normal_x * first_normal_x + first_normal_y * first_normal_y + first_normal_z * first_normal_z)') ~ ')') }}, 2) as obliquity_degrees
    from first_slice
),

idc_verdict as (
    select
        *,
        -- every adjacent gap within the relative tolerance of the expected spacing: the
        -- largest |gap - expected| is reached at the smallest or the largest gap
        {{ idc_qc.greatest_or_null(['max_gap_mm - expected_slice_spacing_mm', 'expected_slice_spacing_mm - min_gap_mm']) }}
            < {{ rel_tol }} * abs(expected_slice_spacing_mm) as uniform_slice_spacing
    from idc_checks
),

idc_flags as (
    select
        *,
        single_orientation and orthogonal_orientation and unique_slice_positions
            and consistent_in_plane_row and consistent_in_plane_col and consistent_pixel_spacing
            and consistent_image_dimensions and uniform_slice_spacing as regularly_spaced_3d_volume,
        -- IDC's verdict with orientation and pixel spacing compared as numbers
        same_orientation and orthogonal_orientation and unique_slice_positions
            and consistent_in_plane_row and consistent_in_plane_col and same_pixel_spacing
            and consistent_image_dimensions and uniform_slice_spacing as regular_as_numbers
    from idc_verdict
),

-- the numbers behind the reasons
measures as (
    select
        *,
        -- positions closer than the spacing tolerance count as one
        positioned_instance_count - near_shared_position_count as distinct_position_count,
        -- IDC's verdict is FALSE only because it compares orientation or pixel spacing as strings
        coalesce(not regularly_spaced_3d_volume, false) and coalesce(regular_as_numbers, false) as idc_string_comparison_only,
        TemporalPositionIdentifier_varies or EchoTime_varies or AcquisitionNumber_varies
            or DiffusionBValue_varies or ImageType_varies as stack_attribute_varies,
        -- the in-plane axis that moves most, and how linearly it follows the position
        case when max_in_plane_column - min_in_plane_column >= max_in_plane_row - min_in_plane_row
            then in_plane_column_trend else in_plane_row_trend end as in_plane_trend,
        -- every volumetric position and orientation parsed to finite numbers
        ipp_missing_count + ipp_malformed_count + iop_missing_count + iop_malformed_count = 0 as positions_parsed,
        -- IDC's |row x column| = 1 and ours: unit, orthogonal direction cosines
        iop_missing_count + iop_malformed_count > 0 or volumetric_instance_count = 0
            or (coalesce(orthogonal_orientation, false) and coalesce(max_orientation_error <= {{ orientation_tol }}, false)) as orientation_orthonormal,
        max_in_plane_row - min_in_plane_row as in_plane_row_range_mm,
        max_in_plane_column - min_in_plane_column as in_plane_col_range_mm,
        -- stacking direction: first to last slice position
        last_ipp_x - first_ipp_x as stack_dx,
        last_ipp_y - first_ipp_y as stack_dy,
        last_ipp_z - first_ipp_z as stack_dz,
        sqrt(first_normal_x * first_normal_x + first_normal_y * first_normal_y + first_normal_z * first_normal_z) as first_normal_length
    from idc_flags
),

stack_measures as (
    select
        *,
        -- several stacks: positions repeat, and either every position the same number of
        -- times over several positions, or an attribute tells the repeats apart and at least
        -- half the positions repeat (4D series whose last time point is incomplete)
        near_shared_position_count > 0 and (
            (coalesce(case when distinct_position_count > 0 then mod(positioned_instance_count, distinct_position_count) = 0 end, false)
                and (distinct_position_count > 1 or stack_attribute_varies))
            or (stack_attribute_varies and 2 * near_shared_position_count >= distinct_position_count)
        ) as is_multi_stack,
        -- spacing of the distinct positions (zero gaps between stacks left out)
        {{ idc_qc.safe_divide('max_slice_position - min_slice_position', 'distinct_position_count - 1') }} as distinct_slice_spacing_mm,
        {{ idc_qc.safe_divide('max_gap_mm', 'nominal_slice_spacing_mm') }} as largest_gap_ratio,
        sqrt(stack_dx * stack_dx + stack_dy * stack_dy + stack_dz * stack_dz) as stack_length_mm,
        {{ idc_qc.safe_divide('stack_dx * first_normal_x + stack_dy * first_normal_y + stack_dz * first_normal_z', 'first_normal_length') }} as stack_along_normal_mm
    from measures
),

spacing_measures as (
    select
        *,
        case when is_multi_stack then cast(ceil(positioned_instance_count / distinct_position_count) as {{ dbt.type_bigint() }}) else 1 end as stack_count,
        coalesce(case when is_multi_stack then mod(positioned_instance_count, distinct_position_count) <> 0 end, false) as has_incomplete_stack,
        max_gap_mm - distinct_slice_spacing_mm < {{ rel_tol }} * abs(distinct_slice_spacing_mm)
            and distinct_slice_spacing_mm - min_positive_gap_mm < {{ rel_tol }} * abs(distinct_slice_spacing_mm) as distinct_spacing_uniform,
        -- the largest gap is a whole multiple (>= 2) of the smallest: slices are missing
        round(largest_gap_ratio) >= 2
            and abs(largest_gap_ratio - round(largest_gap_ratio)) <= {{ rel_tol }} * round(largest_gap_ratio) as gaps_are_whole_multiples,
        -- angle between the slice normal and the first-to-last stacking direction
        case when positions_parsed and coalesce(same_orientation, false) and stack_length_mm > 0 and first_normal_length > 0 then
            {{ idc_qc.radians_to_degrees('acos(' ~ idc_qc.least_or_null(['1.0', 'abs(stack_along_normal_mm) / stack_length_mm']) ~ ')') }}
        end as estimated_gantry_tilt_degrees,
        sqrt({{ idc_qc.greatest_or_null(['stack_length_mm * stack_length_mm - stack_along_normal_mm * stack_along_normal_mm', '0.0']) }}) as stack_in_plane_drift_mm
    from stack_measures
),

findings as (
    select
        *,
        case when positions_parsed and gaps_are_whole_multiples and not distinct_spacing_uniform then
            {{ idc_qc.greatest_or_null([
                'cast(round((max_slice_position - min_slice_position) / nominal_slice_spacing_mm) as ' ~ dbt.type_bigint() ~ ') - (distinct_position_count - 1)',
                'cast(round(largest_gap_ratio) as ' ~ dbt.type_bigint() ~ ') - 1'
            ]) }}
        else 0 end as missing_slice_count,
        coalesce(not (consistent_in_plane_row and consistent_in_plane_col), false) as shifted_in_plane,
        -- a gantry tilt: the last slice is shifted from the first and every slice in between
        -- in proportion (correlation of in-plane offset and position near +-1). Two slices
        -- cannot show that: there a GantryDetectorTilt within a degree of the angle decides.
        coalesce(stack_in_plane_drift_mm > {{ in_plane_tol }}, false) and (
            (distinct_position_count >= 3
                and coalesce(case when {{ idc_qc.is_finite('in_plane_trend') }} then abs(in_plane_trend) end >= 0.99, false))
            or (distinct_position_count = 2
                and coalesce(abs(abs(gantry_detector_tilt) - estimated_gantry_tilt_degrees) < 1, false))
        ) as drifts_along_stack,
        ipp_missing_count > 0 and ipp_missing_count < volumetric_instance_count as ipp_partly_missing,
        volumetric_instance_count > 0 and ipp_missing_count = volumetric_instance_count as ipp_all_missing
    from spacing_measures
),

reasons as (
    select
        *,
        {{ idc_qc.array_compact("[
            case when volumetric_instance_count = 0 and localizer_instance_count + projection_instance_count > 0 then 'only localizer or projection images' end,
            case when volumetric_instance_count = 0 and localizer_instance_count + projection_instance_count = 0
                  and image_instance_count = 0 then 'no image instances' end,
            case when ipp_missing_count > 0 or (volumetric_instance_count = 0 and image_instance_count > 0) then 'missing ImagePositionPatient' end,
            case when ipp_malformed_count > 0 then 'malformed ImagePositionPatient' end,
            case when iop_missing_count > 0 then 'missing ImageOrientationPatient' end,
            case when iop_malformed_count > 0 then 'malformed ImageOrientationPatient' end,
            case when pixel_spacing_missing_count > 0 then 'missing PixelSpacing' end,
            case when pixel_spacing_malformed_count > 0 then 'malformed PixelSpacing' end,
            case when dimensions_missing_count > 0 then 'missing Rows or Columns' end,
            case when dimensions_malformed_count > 0 then 'malformed Rows or Columns' end,
            case when conflicting_duplicate_instance_count > 0 then 'conflicting duplicate instances' end,
            case when not orientation_orthonormal then 'non-orthogonal orientation' end,
            case when volumetric_instance_count = 1 then 'single instance' end,
            case when max_number_of_frames > 1 then 'multi-frame instances' end,
            case when mosaic_instance_count > uih_mosaic_instance_count then 'siemens mosaic' end,
            case when uih_mosaic_instance_count > 0 then 'uih mosaic' end,
            case when is_multi_stack then 'several stacks in one series' end,
            case when has_incomplete_stack then 'incomplete stack' end,
            case when near_shared_position_count > 0 and not is_multi_stack then 'duplicate slice positions' end,
            case when positions_parsed and coalesce(same_orientation, false) and missing_slice_count > 0 then 'missing slices' end,
            case when positions_parsed and coalesce(same_orientation, false) and missing_slice_count = 0 and distinct_position_count > 2
                  and not coalesce(distinct_spacing_uniform, true) then 'non-uniform slice spacing' end,
            case when positions_parsed and coalesce(same_orientation, false) and shifted_in_plane and drifts_along_stack then 'gantry tilt' end,
            case when positions_parsed and coalesce(same_orientation, false) and shifted_in_plane and not drifts_along_stack then 'slices shifted in plane' end,
            case when volumetric_instance_count > 1 and iop_missing_count = 0 and not coalesce(same_orientation, false) then 'multiple orientations' end,
            case when pixel_spacing_missing_count = 0 and volumetric_instance_count > 1 and not coalesce(same_pixel_spacing, false) then 'inconsistent pixel spacing' end,
            -- the sizes that were read differ (IDC's check is also FALSE when one cannot be read: malformed says that)
            case when dimensions_missing_count = 0 and volumetric_instance_count > 1
                and not coalesce(min_rows = max_rows and min_columns = max_columns, true) then 'inconsistent image dimensions' end,
            case when volumetric_instance_count = 2 and coalesce(regular_as_numbers, false) and mosaic_instance_count = 0 then 'only two slices' end
        ]") }} as found_reasons
    from findings
),

categorised as (
    select
        *,
        case
            when volumetric_instance_count = 0 and localizer_instance_count + projection_instance_count > 0 then 'localizer_or_projection'
            when volumetric_instance_count = 0 or ipp_all_missing then 'missing_geometry'
            when ipp_missing_count + ipp_malformed_count + iop_missing_count + iop_malformed_count
                 + pixel_spacing_missing_count + pixel_spacing_malformed_count + dimensions_missing_count
                 + dimensions_malformed_count + conflicting_duplicate_instance_count > 0
                 or not orientation_orthonormal then 'malformed_geometry'
            when volumetric_instance_count = 1 then 'single_instance'
            when mosaic_instance_count > 0 then 'mosaic'
            when is_multi_stack then 'multi_stack'
            when {{ idc_qc.array_length('found_reasons') }} = 0 and coalesce(regular_as_numbers, false) then 'regular_volume'
            when volumetric_instance_count = 2 and coalesce(regular_as_numbers, false) then 'too_few_slices'
            else 'irregular_volume'
        end as geometry_category
    from reasons
),

final as (
    select
        SeriesInstanceUID,
        Modality,

        -- IDC's volume_geometry_index columns
        idc_sop_class_instance_count > 0 and idc_excluded_instance_count = 0 as idc_in_scope,
        single_orientation,
        orthogonal_orientation,
        unique_slice_positions,
        consistent_in_plane_row,
        consistent_in_plane_col,
        consistent_pixel_spacing,
        consistent_image_dimensions,
        uniform_slice_spacing,
        obliquity_degrees,
        regularly_spaced_3d_volume,
        case when regularly_spaced_3d_volume then [first_ipp_x, first_ipp_y, first_ipp_z] end as origin_patient,
        case when regularly_spaced_3d_volume then [
            first_row_cosine_x, first_row_cosine_y, first_row_cosine_z,
            first_column_cosine_x, first_column_cosine_y, first_column_cosine_z
        ] end as ImageOrientationPatient,
        case when regularly_spaced_3d_volume then expected_slice_spacing_mm end as slice_spacing_mm,

        -- the verdict in words
        geometry_category,
        case
            when geometry_category <> 'regular_volume' and {{ idc_qc.array_length('found_reasons') }} = 0
                then ['irregular geometry']
            else found_reasons
        end as failure_reasons,
        -- what a curator should know that does not change the verdict
        {{ idc_qc.array_compact("[
            case when duplicated_instance_row_count > 0 then 'duplicated instance rows' end,
            case when idc_string_comparison_only then 'IDC string comparison only' end,
            case when coalesce(regularly_spaced_3d_volume, false) and geometry_category = 'malformed_geometry'
                then 'IDC regular on malformed values' end
        ]") }} as geometry_notes,
        idc_string_comparison_only,
        -- IDC's verdict is TRUE only because the values it compares are equal, not valid
        -- (PixelSpacing -0.7 on every slice, Rows 0): the counts of regular volumes people
        -- read use geometry_category, which says malformed_geometry
        coalesce(regularly_spaced_3d_volume, false) and geometry_category = 'malformed_geometry' as idc_regular_on_malformed_values,
        same_orientation,
        same_pixel_spacing,

        -- what the series holds
        instance_count,
        duplicated_instance_row_count,
        conflicting_duplicate_instance_count,
        volumetric_instance_count,
        localizer_instance_count,
        projection_instance_count,
        mosaic_instance_count > 0 as is_mosaic,
        max_number_of_frames,
        frame_count,

        -- slice positions and spacing
        distinct_position_count,
        near_shared_position_count as duplicate_position_count,
        duplicate_position_distance_mm,
        stack_count,
        {{ idc_qc.array_compact("[
            case when is_multi_stack and TemporalPositionIdentifier_varies then 'TemporalPositionIdentifier' end,
            case when is_multi_stack and EchoTime_varies then 'EchoTime' end,
            case when is_multi_stack and AcquisitionNumber_varies then 'AcquisitionNumber' end,
            case when is_multi_stack and DiffusionBValue_varies then 'DiffusionBValue' end,
            case when is_multi_stack and ImageType_varies then 'ImageType' end
        ]") }} as stack_attributes,
        expected_slice_spacing_mm,
        nominal_slice_spacing_mm,
        max_gap_mm as largest_gap_mm,
        largest_gap_ratio,
        -- the shortest gap between distinct positions (near-duplicates left out): a slice
        -- closer to its neighbour than the spacing, the other half of non-uniform spacing
        min_positive_gap_mm as smallest_gap_mm,
        {{ idc_qc.safe_divide('min_positive_gap_mm', 'nominal_slice_spacing_mm') }} as smallest_gap_ratio,
        missing_slice_count,
        distinct_gap_count as distinct_spacing_count,

        -- the values IDC's consistency checks compare, as written: the evidence of
        -- inconsistent pixel spacing and inconsistent image dimensions
        min_pixel_spacing_text as smallest_pixel_spacing,
        max_pixel_spacing_text as largest_pixel_spacing,
        cast(min_rows as {{ dbt.type_bigint() }}) as min_rows,
        cast(max_rows as {{ dbt.type_bigint() }}) as max_rows,
        cast(min_columns as {{ dbt.type_bigint() }}) as min_columns,
        cast(max_columns as {{ dbt.type_bigint() }}) as max_columns,
        -- the (acute) angle between the row and the column direction of the first slice, 90
        -- when orthogonal: the evidence of non-orthogonal orientation
        {{ idc_qc.radians_to_degrees('acos(case when abs(' ~ row_column_cosine ~ ') > 1 then 1 else abs('
            ~ row_column_cosine ~ ') end)') }} as row_column_angle_degrees,

        -- alignment and orientation
        in_plane_row_range_mm,
        in_plane_col_range_mm,
        case
            when max_orientation_text is null then 0
            when min_orientation_text = max_orientation_text then 1
            else greatest(approx_orientation_count, 2)
        end as orientation_count,
        min_orientation_text as reference_orientation,
        estimated_gantry_tilt_degrees,
        stack_in_plane_drift_mm,
        gantry_detector_tilt as GantryDetectorTilt,

        -- parse failures among the volumetric instances
        ipp_missing_count,
        ipp_malformed_count,
        iop_missing_count,
        iop_malformed_count,
        pixel_spacing_missing_count,
        pixel_spacing_malformed_count,
        dimensions_malformed_count,

        -- for the instance-level review: are the gaps judged at all (every position parsed),
        -- and the line through the first and the last slice
        positions_parsed,
        min_finite_slice_position as first_slice_position,
        max_finite_slice_position as last_slice_position,
        first_in_plane_row,
        last_in_plane_row,
        first_in_plane_column,
        last_in_plane_column
    from categorised
)

select * from final
