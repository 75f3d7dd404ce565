-- One row per series IDC judged in its published volume_geometry_index (the file idc-index
-- downloads), IDC's eight checks and its verdict, typed. The var `idc_volume_geometry_index` is
-- empty when the build read no such file: then this view is empty and typed, and
-- series_geometry_vs_idc says that nothing was compared. IDC's origin_patient and
-- ImageOrientationPatient (arrays) are left out: series_geometry carries ours.
{%- set source_relation = source('idc_published', 'volume_geometry_index') %}

{% if var('idc_volume_geometry_index', '') == '' %}

select
    cast(null as {{ dbt.type_string() }}) as SeriesInstanceUID,
    cast(null as {{ dbt.type_boolean() }}) as single_orientation,
    cast(null as {{ dbt.type_boolean() }}) as orthogonal_orientation,
    cast(null as {{ dbt.type_boolean() }}) as unique_slice_positions,
    cast(null as {{ dbt.type_boolean() }}) as consistent_in_plane_row,
    cast(null as {{ dbt.type_boolean() }}) as consistent_in_plane_col,
    cast(null as {{ dbt.type_boolean() }}) as consistent_pixel_spacing,
    cast(null as {{ dbt.type_boolean() }}) as consistent_image_dimensions,
    cast(null as {{ dbt.type_boolean() }}) as uniform_slice_spacing,
    cast(null as {{ idc_qc.type_double() }}) as obliquity_degrees,
    cast(null as {{ dbt.type_boolean() }}) as regularly_spaced_3d_volume,
    cast(null as {{ idc_qc.type_double() }}) as slice_spacing_mm
from (select 1 as one) as no_rows
where 1 = 0

{% else %}

with source as (
    select * from {{ source_relation }}
),

typed as (
    select
        cast(SeriesInstanceUID as {{ dbt.type_string() }}) as SeriesInstanceUID,
        cast(single_orientation as {{ dbt.type_boolean() }}) as single_orientation,
        cast(orthogonal_orientation as {{ dbt.type_boolean() }}) as orthogonal_orientation,
        cast(unique_slice_positions as {{ dbt.type_boolean() }}) as unique_slice_positions,
        cast(consistent_in_plane_row as {{ dbt.type_boolean() }}) as consistent_in_plane_row,
        cast(consistent_in_plane_col as {{ dbt.type_boolean() }}) as consistent_in_plane_col,
        cast(consistent_pixel_spacing as {{ dbt.type_boolean() }}) as consistent_pixel_spacing,
        cast(consistent_image_dimensions as {{ dbt.type_boolean() }}) as consistent_image_dimensions,
        cast(uniform_slice_spacing as {{ dbt.type_boolean() }}) as uniform_slice_spacing,
        cast(obliquity_degrees as {{ idc_qc.type_double() }}) as obliquity_degrees,
        cast(regularly_spaced_3d_volume as {{ dbt.type_boolean() }}) as regularly_spaced_3d_volume,
        cast(slice_spacing_mm as {{ idc_qc.type_double() }}) as slice_spacing_mm
    from source
)

select * from typed

{% endif %}
