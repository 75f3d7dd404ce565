{# Lists the reporting models expand into one column each (an UpSet plot reads booleans).
   Column names must be known when the SQL is compiled, before any seed is loaded, so the
   series-level words of seeds/geometry_reasons.csv are repeated here as (reason_key, label);
   tests/unit/test_vocabulary.py keeps this list equal to the seed. #}
{% macro geometry_series_reasons() %}
    {{ return([
        ('only_localizer_or_projection', 'only localizer or projection images'),
        ('no_image_instances', 'no image instances'),
        ('missing_ipp', 'missing ImagePositionPatient'),
        ('malformed_ipp', 'malformed ImagePositionPatient'),
        ('missing_iop', 'missing ImageOrientationPatient'),
        ('malformed_iop', 'malformed ImageOrientationPatient'),
        ('missing_pixel_spacing', 'missing PixelSpacing'),
        ('malformed_pixel_spacing', 'malformed PixelSpacing'),
        ('missing_rows_or_columns', 'missing Rows or Columns'),
        ('malformed_rows_or_columns', 'malformed Rows or Columns'),
        ('conflicting_duplicate_instances', 'conflicting duplicate instances'),
        ('non_orthogonal_orientation', 'non-orthogonal orientation'),
        ('single_instance', 'single instance'),
        ('multi_frame_instances', 'multi-frame instances'),
        ('siemens_mosaic', 'siemens mosaic'),
        ('uih_mosaic', 'uih mosaic'),
        ('several_stacks', 'several stacks in one series'),
        ('incomplete_stack', 'incomplete stack'),
        ('duplicate_slice_positions', 'duplicate slice positions'),
        ('missing_slices', 'missing slices'),
        ('non_uniform_slice_spacing', 'non-uniform slice spacing'),
        ('gantry_tilt', 'gantry tilt'),
        ('slices_shifted_in_plane', 'slices shifted in plane'),
        ('multiple_orientations', 'multiple orientations'),
        ('inconsistent_pixel_spacing', 'inconsistent pixel spacing'),
        ('inconsistent_image_dimensions', 'inconsistent image dimensions'),
        ('only_two_slices', 'only two slices'),
        ('irregular_geometry', 'irregular geometry')
    ]) }}
{% endmacro %}


{# IDC volume_geometry_index's eight checks, in IDC's order (the seed's idc_check values). #}
{% macro idc_geometry_checks() %}
    {{ return([
        'single_orientation', 'orthogonal_orientation', 'unique_slice_positions', 'consistent_in_plane_row',
        'consistent_in_plane_col', 'consistent_pixel_spacing', 'consistent_image_dimensions', 'uniform_slice_spacing'
    ]) }}
{% endmacro %}
