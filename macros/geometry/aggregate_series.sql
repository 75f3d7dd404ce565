{# The parsed columns that describe the volume: NULL for localizers, projections and MIPs in
   the aggregate, carried one per instance by int_series__geometry_aggregated's deduplication. #}
{% macro geometry_volume_columns() %}{{ return([
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
]) }}{% endmacro %}

{# The per-series aggregates of int_series__geometry_aggregated, over `source_cte` (one row
   per instance row with the columns of int_instances__geometry_parsed, plus `row_copies` and
   `has_conflicting_copies`), as three CTEs: `<name>_volumetric`, `<name>_grouped` and `<name>`
   (the distinct SOPInstanceUID hashes read off the aggregate, macro distinct_hashes). A macro because
   the model aggregates twice: every series in one pass over the parsed rows, then again,
   one row per instance, the few series that list an instance twice. `source_cte` must hold
   one row per instance for the series whose aggregate is used (distinct_instance_count is
   its count(*)). #}
{% macro geometry_aggregate_series(source_cte, name) %}
{%- set finite_position = 'finite_slice_position' %}
-- geometry of the volumetric instances only: localizers, projections and MIPs get NULLs,
-- so every aggregate below describes the volume while the counts still see every instance
{{ name }}_volumetric as (
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
        is_uih_mosaic,
        ipp_status,
        iop_status,
        pixel_spacing_status,
        number_of_frames,
        frame_number,
        has_malformed_dimensions,
        {{ adapter.quote('Rows') }} is not null or has_malformed_dimensions as has_pixel_matrix,
        -- computed once here for the several aggregates that order by it
        case when is_volumetric and {{ idc_qc.is_finite('slice_position') }} then slice_position end as finite_slice_position,
        {%- for column in idc_qc.geometry_volume_columns() %}
        case when is_volumetric then {{ column }} end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source_cte }}
),

{{ name }}_grouped as (
    select
        SeriesInstanceUID,
        min(Modality) as Modality,

        -- what the series holds
        count(*) as instance_count,
        -- distinct instances: `source_cte` holds one row per instance for every series whose
        -- row is kept (int_series__geometry_aggregated aggregates the series that list an
        -- instance twice again, one row per instance), so a plain count
        count(*) as distinct_instance_count,
        -- fewer distinct SOPInstanceUID hashes than rows: the series may list an instance
        -- twice (or two of its UIDs share a hash); the model aggregates those again exactly
        {{ idc_qc.distinct_hashes_state('SOPInstanceUID') }} as sop_instance_hashes,
        cast(sum(row_copies - 1) as {{ dbt.type_bigint() }}) as duplicated_instance_row_count,
        count(case when has_conflicting_copies then 1 end) as conflicting_duplicate_instance_count,
        count(case when is_volumetric then 1 end) as volumetric_instance_count,
        count(case when is_localizer then 1 end) as localizer_instance_count,
        count(case when (is_mip or is_projection) and not is_localizer then 1 end) as projection_instance_count,
        count(case when is_idc_sop_class then 1 end) as idc_sop_class_instance_count,
        count(case when is_localizer or is_mip then 1 end) as idc_excluded_instance_count,
        count(case when is_volumetric and is_mosaic then 1 end) as mosaic_instance_count,
        count(case when is_volumetric and is_uih_mosaic then 1 end) as uih_mosaic_instance_count,
        count(case when has_pixel_matrix and not (is_localizer or is_mip or is_projection) then 1 end) as image_instance_count,
        max(number_of_frames) as max_number_of_frames,
        count(frame_number) as frame_count,

        -- parse failures among the volumetric instances
        count(case when is_volumetric and ipp_status = 'missing' then 1 end) as ipp_missing_count,
        count(case when is_volumetric and ipp_status not in ('ok', 'missing') then 1 end) as ipp_malformed_count,
        count(case when is_volumetric and iop_status = 'missing' then 1 end) as iop_missing_count,
        count(case when is_volumetric and iop_status not in ('ok', 'missing') then 1 end) as iop_malformed_count,
        count(case when is_volumetric and pixel_spacing_status = 'missing' then 1 end) as pixel_spacing_missing_count,
        count(case when is_volumetric and pixel_spacing_status not in ('ok', 'missing') then 1 end) as pixel_spacing_malformed_count,
        count(case when is_volumetric and ({{ adapter.quote('Rows') }} is null or {{ adapter.quote('Columns') }} is null)
            and not has_malformed_dimensions then 1 end) as dimensions_missing_count,
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
        -- the first and the last slice among the finite positions (a NaN or infinite one is
        -- malformed: it must not end the stack the instance review measures offsets from)
        min({{ finite_position }}) as min_finite_slice_position,
        max({{ finite_position }}) as max_finite_slice_position,
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
        {{ idc_qc.min_by(column, finite_position) }} as first_{{ column }},
        {%- endfor %}
        -- the last slice (highest position): the stacking direction runs first to last
        {%- for column in ['ipp_x', 'ipp_y', 'ipp_z'] %}
        {{ idc_qc.max_by(column, finite_position) }} as last_{{ column }},
        {%- endfor %}

        -- GantryDetectorTilt as written, the value of largest magnitude
        {{ idc_qc.max_by('gantry_detector_tilt', 'abs(gantry_detector_tilt)') }} as gantry_detector_tilt,

        -- the attributes that may tell stacks apart: do they vary within the series?
        {%- for column in ['TemporalPositionIdentifier', 'EchoTime', 'AcquisitionNumber', 'DiffusionBValue'] %}
        coalesce(min({{ column }}) < max({{ column }}), false) as {{ column }}_varies,
        {%- endfor %}
        coalesce(min(image_type_text) < max(image_type_text), false) as ImageType_varies
    from {{ name }}_volumetric
    group by SeriesInstanceUID
),

{{ name }} as (
    select
        {{ idc_qc.star_except(['sop_instance_hashes']) }},
        {{ idc_qc.distinct_hashes_count('sop_instance_hashes') }} as sop_instance_hash_count
    from {{ name }}_grouped
)
{% endmacro %}
