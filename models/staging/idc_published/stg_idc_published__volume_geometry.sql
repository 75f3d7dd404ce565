-- One row per series IDC judged in its published volume_geometry_index (the file idc-index
-- downloads), IDC's eight checks and its verdict, typed. The var `idc_volume_geometry_index` is
-- empty when the build read no such file: then this view is empty and typed, and
-- series_geometry_vs_idc says that nothing was compared. IDC's origin_patient and
-- ImageOrientationPatient (arrays) are left out: series_geometry carries ours.
{#- Lineage (the file itself is read below, through idc_qc.source_files, only when given) #}
{%- do source('idc_published', 'volume_geometry_index') %}
{#- IDC's columns this view keeps, with their types: one list for both branches #}
{%- set columns = [('SeriesInstanceUID', dbt.type_string())] %}
{%- for check in idc_qc.idc_geometry_checks() %}
{%- do columns.append((check, dbt.type_boolean())) %}
{%- endfor %}
{%- do columns.append(('obliquity_degrees', idc_qc.type_double())) %}
{%- do columns.append(('regularly_spaced_3d_volume', dbt.type_boolean())) %}
{%- do columns.append(('slice_spacing_mm', idc_qc.type_double())) %}

{% if idc_qc.run_var('idc_volume_geometry_index', '') == '' %}

select
    {%- for name, type in columns %}
    cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from (select 1 as one) as no_rows
where 1 = 0

{% else %}

with source as (
    select * from {{ idc_qc.source_files('idc_published', 'volume_geometry_index') }}
),

typed as (
    select
        {%- for name, type in columns %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
)

select * from typed

{% endif %}
