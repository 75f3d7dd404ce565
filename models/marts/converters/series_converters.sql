-- One row per series and converter (highdicom, dcm2niix, dicom2nifti, SimpleITK): will the
-- tool in a pipeline load the series as a volume, and what will it do? The predicted outcome
-- (assembles, assembles with a warning, splits into N volumes, refuses, assembles with wrong
-- geometry), the rule that decides it with its tolerance and the line of the tool's code, the
-- number behind it, and a hint. The rules are seeds/converter_rules.csv: a new tool version
-- is a reviewed row change there. For each tool the first rule (by rank) that fires decides;
-- the measures are int_series__converters_measured's. docs/converters.md explains each rule and
-- how the predictions were checked against the real tools.

with judged as (
    select * from {{ ref('int_series__geometry_judged') }}
),

series_context as (
    select * from {{ ref('int_series__instances_aggregated') }}
),

measured as (
    select * from {{ ref('int_series__converters_measured') }}
),

rules as (
    select * from {{ ref('converter_rules') }}
),

series as (
    select
        judged.SeriesInstanceUID,
        series_context.collection_id,
        series_context.PatientID,
        judged.Modality,
        judged.geometry_category,
        measured.SeriesInstanceUID is not null as is_placed,
        measured.instance_count,
        measured.localizer_count,
        measured.slice_count,
        measured.matrix_size_count,
        measured.orientation_deviation,
        measured.pixel_spacing_varies,
        measured.pixel_spacing_range_mm,
        measured.duplicate_position_count,
        measured.mean_gap_mm,
        measured.highdicom_spacing_deviation,
        measured.highdicom_min_span_cosine,
        measured.stack_tilt_degrees,
        measured.itk_spacing_mm,
        measured.itk_max_displacement_mm,
        measured.itk_max_step_deviation_mm,
        measured.derived_group_count,
        measured.complex_part_count,
        measured.min_position_copies,
        measured.max_position_copies,
        measured.echo_time_count,
        measured.acquisition_number_count,
        measured.dcm2niix_volume_count,
        measured.dcm2niix_tilt_estimated,
        measured.dcm2niix_distance_deviation_mm,
        measured.d2n_dropped_by_type_count,
        measured.d2n_dropped_by_orientation_count,
        measured.d2n_kept_count,
        measured.d2n_matrix_size_count,
        measured.d2n_orientation_excess,
        measured.d2n_increment_excess,
        measured.d2n_tilt_excess,
        measured.d2n_min_position_copies,
        measured.d2n_max_position_copies,
        coalesce(measured.is_multi_frame_object, false) as is_multi_frame_object,
        measured.frames_without_in_stack_position,
        measured.object_step_deviation_mm
    from judged
    left join series_context
        on judged.SeriesInstanceUID = series_context.SeriesInstanceUID
    left join measured
        on judged.SeriesInstanceUID = measured.SeriesInstanceUID
),

-- each tool's rules in the order of its code (the seed's rank): the first that fires decides
decided as (
    select
        series.*,
        'highdicom' as converter,
        case
            when not is_placed then 'highdicom_no_geometry'
            when orientation_deviation > 0 then 'highdicom_orientation'
            when pixel_spacing_varies then 'highdicom_pixel_spacing'
            when duplicate_position_count > 0 then 'highdicom_duplicate_positions'
            when slice_count > 1
                and highdicom_spacing_deviation > {{ idc_qc.converter_tolerance('highdicom_slice_spacing', 'relative') }}
                then 'highdicom_slice_spacing'
            when slice_count > 1
                and 1 - highdicom_min_span_cosine >= {{ idc_qc.converter_tolerance('highdicom_perpendicular', 'absolute') }}
                then 'highdicom_perpendicular'
            when matrix_size_count > 1 then 'highdicom_matrix_size'
            else 'highdicom_regular'
        end as rule_id,
        1 as volume_count
    from series

    union all

    select
        series.*,
        'dicom2nifti' as converter,
        case
            when not is_placed then 'dicom2nifti_no_geometry'
            when d2n_kept_count <= {{ idc_qc.converter_tolerance('dicom2nifti_too_few_slices', 'absolute') }}
                then 'dicom2nifti_too_few_slices'
            when d2n_orientation_excess > 0 then 'dicom2nifti_orientation'
            when d2n_tilt_excess > 0 then 'dicom2nifti_gantry_tilt'
            -- one multi-frame object: its frames are checked in frame order, stacks included
            when is_multi_frame_object and (d2n_max_position_copies > 1 or d2n_increment_excess > 0)
                then 'dicom2nifti_object_slice_increment'
            when is_multi_frame_object and frames_without_in_stack_position > 0 then 'dicom2nifti_object_in_stack_position'
            when d2n_max_position_copies > 1 and d2n_min_position_copies = d2n_max_position_copies then 'dicom2nifti_stacks'
            when d2n_max_position_copies > 1 then 'dicom2nifti_duplicate_positions'
            when d2n_increment_excess > 0 then 'dicom2nifti_slice_increment'
            when d2n_matrix_size_count > 1 then 'dicom2nifti_matrix_size'
            when d2n_dropped_by_type_count + d2n_dropped_by_orientation_count > 0 then 'dicom2nifti_drops_localizers'
            else 'dicom2nifti_regular'
        end as rule_id,
        coalesce(d2n_max_position_copies, 1) as volume_count
    from series

    union all

    select
        series.*,
        'dcm2niix' as converter,
        case
            when not is_placed then 'dcm2niix_no_geometry'
            -- one multi-frame object: one NIfTI or none; no split, no interslice distance check
            when is_multi_frame_object
                and orientation_deviation > {{ idc_qc.converter_tolerance('dcm2niix_split_orientation', 'absolute') }}
                then 'dcm2niix_object_orientation'
            when is_multi_frame_object and pixel_spacing_varies then 'dcm2niix_object_pixel_spacing'
            when is_multi_frame_object and dcm2niix_tilt_estimated then 'dcm2niix_object_gantry_tilt'
            when is_multi_frame_object then 'dcm2niix_object_regular'
            when dcm2niix_volume_count > 1 and matrix_size_count > 1 then 'dcm2niix_split_matrix_size'
            when dcm2niix_volume_count > 1 and derived_group_count > 1 then 'dcm2niix_split_derived'
            when dcm2niix_volume_count > 1 and complex_part_count > 1 then 'dcm2niix_split_phase'
            when dcm2niix_volume_count > 1 and echo_time_count > 1 then 'dcm2niix_split_echo'
            when dcm2niix_volume_count > 1 then 'dcm2niix_split_orientation'
            when max_position_copies > 1 and min_position_copies = max_position_copies then 'dcm2niix_stacks'
            when dcm2niix_distance_deviation_mm > {{ idc_qc.converter_tolerance('dcm2niix_interslice_distance', 'absolute') }}
                then 'dcm2niix_interslice_distance'
            when dcm2niix_tilt_estimated then 'dcm2niix_gantry_tilt'
            when acquisition_number_count > 1 then 'dcm2niix_acquisition_number'
            else 'dcm2niix_regular'
        end as rule_id,
        case
            when is_multi_frame_object then 1
            when dcm2niix_volume_count > 1 then dcm2niix_volume_count
            when max_position_copies > 1 and min_position_copies = max_position_copies then max_position_copies
            else 1
        end as volume_count
    from series

    union all

    select
        series.*,
        'SimpleITK' as converter,
        case
            when not is_placed then 'SimpleITK_no_geometry'
            -- one multi-frame object (GDCM): spacing 1.0 unless the steps are even, and every frame placed
            when is_multi_frame_object and slice_count > 1
                and (object_step_deviation_mm > {{ idc_qc.converter_tolerance('SimpleITK_object_spacing', 'absolute') }}
                     or duplicate_position_count > 0)
                then 'SimpleITK_object_spacing'
            when matrix_size_count > 1 then 'SimpleITK_matrix_size'
            when slice_count > 1
                and itk_max_displacement_mm > {{ idc_qc.converter_tolerance('SimpleITK_wrong_geometry', 'relative') }} * itk_spacing_mm
                then 'SimpleITK_wrong_geometry'
            when slice_count > 1 and not is_multi_frame_object
                and itk_max_step_deviation_mm > {{ idc_qc.converter_tolerance('SimpleITK_non_uniform_sampling', 'relative') }} * itk_spacing_mm
                then 'SimpleITK_non_uniform_sampling'
            else 'SimpleITK_regular'
        end as rule_id,
        1 as volume_count
    from series
),

-- the number behind the deciding rule, and what it measures
valued as (
    select
        decided.*,
        case rule_id
            when 'highdicom_orientation' then orientation_deviation
            when 'highdicom_pixel_spacing' then pixel_spacing_range_mm
            when 'highdicom_duplicate_positions' then cast(duplicate_position_count as {{ dbt.type_float() }})
            when 'highdicom_slice_spacing' then highdicom_spacing_deviation
            when 'highdicom_perpendicular' then 1 - highdicom_min_span_cosine
            when 'highdicom_matrix_size' then cast(matrix_size_count as {{ dbt.type_float() }})
            when 'dicom2nifti_too_few_slices' then cast(d2n_kept_count as {{ dbt.type_float() }})
            when 'dicom2nifti_orientation' then d2n_orientation_excess
            when 'dicom2nifti_gantry_tilt' then stack_tilt_degrees
            when 'dicom2nifti_stacks' then cast(d2n_max_position_copies as {{ dbt.type_float() }})
            when 'dicom2nifti_duplicate_positions' then cast(d2n_max_position_copies as {{ dbt.type_float() }})
            when 'dicom2nifti_slice_increment' then d2n_increment_excess
            when 'dicom2nifti_matrix_size' then cast(d2n_matrix_size_count as {{ dbt.type_float() }})
            when 'dicom2nifti_drops_localizers' then cast(d2n_dropped_by_type_count + d2n_dropped_by_orientation_count as {{ dbt.type_float() }})
            when 'dcm2niix_split_matrix_size' then cast(matrix_size_count as {{ dbt.type_float() }})
            when 'dcm2niix_split_derived' then cast(derived_group_count as {{ dbt.type_float() }})
            when 'dcm2niix_split_phase' then cast(complex_part_count as {{ dbt.type_float() }})
            when 'dcm2niix_stacks' then cast(max_position_copies as {{ dbt.type_float() }})
            when 'dcm2niix_split_echo' then cast(echo_time_count as {{ dbt.type_float() }})
            when 'dcm2niix_split_orientation' then orientation_deviation
            when 'dcm2niix_interslice_distance' then dcm2niix_distance_deviation_mm
            when 'dcm2niix_gantry_tilt' then stack_tilt_degrees
            when 'dcm2niix_object_gantry_tilt' then stack_tilt_degrees
            when 'dcm2niix_acquisition_number' then cast(acquisition_number_count as {{ dbt.type_float() }})
            when 'SimpleITK_matrix_size' then cast(matrix_size_count as {{ dbt.type_float() }})
            when 'SimpleITK_wrong_geometry' then itk_max_displacement_mm
            when 'SimpleITK_non_uniform_sampling' then itk_max_step_deviation_mm
            when 'SimpleITK_object_spacing' then object_step_deviation_mm
            when 'dicom2nifti_object_slice_increment' then d2n_increment_excess
            when 'dicom2nifti_object_in_stack_position' then cast(frames_without_in_stack_position as {{ dbt.type_float() }})
            when 'dcm2niix_object_orientation' then orientation_deviation
            when 'dcm2niix_object_pixel_spacing' then pixel_spacing_range_mm
        end as measured_value
    from decided
),

final as (
    select
        valued.SeriesInstanceUID,
        valued.converter,
        rules.tool_version,
        replace(rules.outcome, ' N ', ' ' || cast(valued.volume_count as {{ dbt.type_string() }}) || ' ') as outcome,
        rules.outcome as outcome_kind,
        case when rules.outcome = 'splits into N volumes' then valued.volume_count else
            case when rules.outcome = 'refuses' then 0 else 1 end end as volume_count,
        valued.rule_id,
        rules.checks as rule,
        rules.relative_tolerance,
        rules.absolute_tolerance,
        case when valued.rule_id like '%_regular' or valued.rule_id like '%_no_geometry' then null else valued.measured_value end as measured_value,
        rules.source_file || case when rules.source_line is null then '' else ':' || cast(rules.source_line as {{ dbt.type_string() }}) end as source,
        rules.hint,
        valued.collection_id,
        valued.PatientID,
        valued.Modality,
        valued.geometry_category,
        valued.instance_count,
        valued.slice_count,
        valued.stack_tilt_degrees,
        valued.mean_gap_mm
    from valued
    inner join rules
        on valued.rule_id = rules.rule_id
)

select * from final
