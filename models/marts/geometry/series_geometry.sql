-- One row per series of the input: can its instances be stacked into a regularly spaced 3D
-- volume, and if not, why not, in plain words and in numbers.
--
-- First IDC's volume_geometry_index columns, same names, same meaning, same tolerances
-- (dbt vars), computed on the series' volumetric instances; `idc_in_scope` says where IDC's
-- own query yields a row. Then what IDC lacks: a `geometry_category` for every series (never
-- a silent NULL), `failure_reasons` in plain words, and the numbers behind each reason.
-- docs/geometry.md explains the categories, the reasons and every difference from IDC.
-- First of all, what a reader filters by: collection, patient, study, description and a
-- viewer link (from the instance headers; the link only for series IDC holds). IDC's
-- ImageOrientationPatient (numbers) is `orientation_cosines` here: a DICOM keyword always
-- names the value as written (docs/geometry.md, "One representation per attribute").

-- The words this model writes are those of seeds/geometry_reasons.csv: its data tests read
-- the seed, so the ref below makes any selection that builds this model build the seed first
-- (a ref and nothing else: the SQL does not read the seed).
{%- do ref('geometry_reasons') %}

with judged as (
    select * from {{ ref('int_series__geometry_judged') }}
),

series_context as (
    select * from {{ ref('int_series__instances_aggregated') }}
),

index_series as (
    select SeriesInstanceUID from {{ ref('stg_idc_index__series') }}
),

final as (
    select
        judged.SeriesInstanceUID,
        series_context.collection_id,
        series_context.PatientID,
        series_context.StudyInstanceUID,
        series_context.SeriesDescription,
        judged.Modality,
        case when index_series.SeriesInstanceUID is not null then
            {{ idc_qc.viewer_url('series_context.StudyInstanceUID', 'judged.SeriesInstanceUID', 'judged.Modality') }}
        end as viewer_url,

        -- IDC's volume_geometry_index
        idc_in_scope,
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
        origin_patient,
        ImageOrientationPatient as orientation_cosines,
        slice_spacing_mm,

        -- the verdict in words
        geometry_category,
        failure_reasons,
        geometry_notes,
        idc_string_comparison_only,
        idc_regular_on_malformed_values,

        -- what the series holds
        instance_count,
        duplicated_instance_row_count,
        conflicting_duplicate_instance_count,
        volumetric_instance_count,
        localizer_instance_count,
        projection_instance_count,
        is_mosaic,
        max_number_of_frames,
        frame_count,

        -- slice positions and spacing
        distinct_position_count,
        duplicate_position_count,
        duplicate_position_distance_mm,
        stack_count,
        stack_attributes,
        expected_slice_spacing_mm,
        nominal_slice_spacing_mm,
        largest_gap_mm,
        largest_gap_ratio,
        smallest_gap_mm,
        smallest_gap_ratio,
        missing_slice_count,
        distinct_spacing_count,

        -- the values IDC's consistency checks compare (evidence of their reasons)
        smallest_pixel_spacing,
        largest_pixel_spacing,
        min_rows,
        max_rows,
        min_columns,
        max_columns,
        row_column_angle_degrees,

        -- alignment and orientation
        in_plane_row_range_mm,
        in_plane_col_range_mm,
        orientation_count,
        reference_orientation,
        estimated_gantry_tilt_degrees,
        stack_in_plane_drift_mm,
        GantryDetectorTilt,

        -- parse failures among the volumetric instances
        ipp_missing_count,
        ipp_malformed_count,
        iop_missing_count,
        iop_malformed_count,
        pixel_spacing_missing_count,
        pixel_spacing_malformed_count,
        dimensions_malformed_count
    from judged
    left join series_context
        on judged.SeriesInstanceUID = series_context.SeriesInstanceUID
    left join index_series
        on judged.SeriesInstanceUID = index_series.SeriesInstanceUID
)

select * from final
