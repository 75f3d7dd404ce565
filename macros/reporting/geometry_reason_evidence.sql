{# The evidence of one series-level failure reason, as text: the numbers of series_geometry
   that show it (docs/geometry.md says which number explains which reason), for example
   'smallest_gap_mm=3.5, largest_gap_mm=5, nominal_slice_spacing_mm=5'. `reason` is an
   expression giving a label of seeds/geometry_reasons.csv (level series); `g` the prefix of
   series_geometry's columns ('series_geometry.', or '' inside a select from it). One home for
   the worklist (rpt_geometry_failures.evidence) and the QC failures (rpt_qc_failures.observed). #}
{% macro geometry_reason_evidence(reason, g='') %}
{%- set parts = {
    'missing slices': [('missing_slice_count', none), ('largest_gap_mm', 3), ('nominal_slice_spacing_mm', 3)],
    'duplicate slice positions': [('duplicate_position_count', none), ('duplicate_position_distance_mm', 3)],
    'non-uniform slice spacing': [('smallest_gap_mm', 3), ('largest_gap_mm', 3), ('nominal_slice_spacing_mm', 3)],
    'gantry tilt': [('estimated_gantry_tilt_degrees', 2), ('in_plane_col_range_mm', 3)],
    'multiple orientations': [('orientation_count', none), ('reference_orientation', none)],
    'several stacks in one series': [('stack_count', none), ('distinct_position_count', none), ('volumetric_instance_count', none)],
    'incomplete stack': [('stack_count', none), ('distinct_position_count', none), ('volumetric_instance_count', none)],
    'slices shifted in plane': [('in_plane_row_range_mm', 3), ('in_plane_col_range_mm', 3)],
    'missing ImagePositionPatient': [('ipp_missing_count', none)],
    'malformed ImagePositionPatient': [('ipp_malformed_count', none)],
    'missing ImageOrientationPatient': [('iop_missing_count', none)],
    'malformed ImageOrientationPatient': [('iop_malformed_count', none)],
    'missing PixelSpacing': [('pixel_spacing_missing_count', none)],
    'malformed PixelSpacing': [('pixel_spacing_malformed_count', none)],
    'malformed Rows or Columns': [('dimensions_malformed_count', none)],
    'inconsistent pixel spacing': [('smallest_pixel_spacing', none), ('largest_pixel_spacing', none)],
    'inconsistent image dimensions': [('min_rows', none), ('max_rows', none), ('min_columns', none), ('max_columns', none)],
    'non-orthogonal orientation': [('row_column_angle_degrees', 3)],
    'conflicting duplicate instances': [('conflicting_duplicate_instance_count', none)],
    'single instance': [('instance_count', none)],
    'only two slices': [('volumetric_instance_count', none)],
    'multi-frame instances': [('max_number_of_frames', none), ('instance_count', none)],
    'only localizer or projection images': [('localizer_instance_count', none), ('projection_instance_count', none)],
} -%}
case {{ reason }}
{%- for label, columns in parts.items() %}
    when '{{ label }}' then {{ dbt.concat(idc_qc._evidence_terms(columns, g)) }}
{%- endfor %}
    else {{ dbt.concat(["'geometry_category='", g ~ 'geometry_category']) }}
end
{%- endmacro %}

{# 'name=value' terms joined by ', ' (a NULL value reads 'NULL', so the text is never NULL) #}
{% macro _evidence_terms(columns, g) -%}
{%- set terms = [] -%}
{%- for name, digits in columns -%}
    {%- set value = g ~ name if digits is none else 'round(' ~ g ~ name ~ ', ' ~ digits ~ ')' -%}
    {%- do terms.append("'" ~ (', ' if not loop.first else '') ~ name ~ "='") -%}
    {%- do terms.append('coalesce(' ~ dbt.safe_cast(value, dbt.type_string()) ~ ", 'NULL')") -%}
{%- endfor -%}
{{ return(terms) }}
{%- endmacro %}
