-- One row per series of series_geometry: IDC's published verdict (volume_geometry_index, the
-- file idc-index downloads) beside ours, check by check. `comparison` says, in words, whether
-- the two agree:
--   agree                    every IDC column we both have is equal (obliquity within 0.01
--                            degree, slice spacing within 1e-6 relative)
--   differ                   at least one differs: `differing_checks` names them
--   only IDC judged          IDC has a verdict, we have none (no instance metadata for the
--                            series in this build: an index-only series)
--   not in the published index  IDC's file has no row for the series (not CT, MR or PET, not in
--                            IDC, or newer than the file)
--   no published index read  the build read no volume_geometry_index (var empty)
{#- IDC's eight checks (macros/reporting/geometry_vocabulary_columns.sql) and its verdict #}
{%- set checks = idc_qc.idc_geometry_checks() + ['regularly_spaced_3d_volume'] %}
{%- set read_published = idc_qc.run_var('idc_volume_geometry_index', '') != '' %}
{#- a check differs when both judged it and the values are not equal; NULLs drop out of the list #}
{%- set differs = [] %}
{%- for check in checks %}
{%- do differs.append("case when ours." ~ check ~ " != published." ~ check ~ " then '" ~ check ~ "' end") %}
{%- endfor %}
{#- the checks IDC's file says the series fails (its reason beside ours) #}
{%- set idc_failed = [] %}
{%- for check in idc_qc.idc_geometry_checks() %}
{%- do idc_failed.append("case when not published." ~ check ~ " then '" ~ check ~ "' end") %}
{%- endfor %}
{%- do differs.append("case when abs(ours.obliquity_degrees - published.obliquity_degrees) > 0.01 then 'obliquity_degrees' end") %}
{%- do differs.append("case when abs(ours.slice_spacing_mm - published.slice_spacing_mm) > 1e-6 * greatest(abs(published.slice_spacing_mm), 1e-9) then 'slice_spacing_mm' end") %}

with ours as (
    select * from {{ ref('series_geometry') }}
),

published as (
    select * from {{ ref('stg_idc_published__volume_geometry') }}
),

paired as (
    select
        ours.SeriesInstanceUID,
        ours.collection_id,
        ours.Modality,
        ours.geometry_category,
        ours.failure_reasons,
        ours.viewer_url,
        published.SeriesInstanceUID is not null as in_idc_published,
        ours.regularly_spaced_3d_volume as ours_regularly_spaced_3d_volume,
        published.regularly_spaced_3d_volume as idc_regularly_spaced_3d_volume,
        {%- for check in idc_qc.idc_geometry_checks() %}
        ours.{{ check }} as ours_{{ check }},
        published.{{ check }} as idc_{{ check }},
        {%- endfor %}
        ours.obliquity_degrees as ours_obliquity_degrees,
        published.obliquity_degrees as idc_obliquity_degrees,
        ours.slice_spacing_mm as ours_slice_spacing_mm,
        published.slice_spacing_mm as idc_slice_spacing_mm,
        {{ idc_qc.array_join('[' ~ differs | join(', ') ~ ']', "', '") }} as differing,
        {{ idc_qc.array_join('[' ~ idc_failed | join(', ') ~ ']', "', '") }} as idc_failed
    from ours
    left join published
        on ours.SeriesInstanceUID = published.SeriesInstanceUID
),

final as (
    select
        SeriesInstanceUID,
        collection_id,
        Modality,
        geometry_category,
        case
            {%- if not read_published %}
            when true then 'no published index read'
            {%- endif %}
            when not in_idc_published then 'not in the published index'
            when ours_regularly_spaced_3d_volume is null and idc_regularly_spaced_3d_volume is not null
                then 'only IDC judged'
            when differing != '' then 'differ'
            else 'agree'
        end as comparison,
        nullif(differing, '') as differing_checks,
        failure_reasons,
        nullif(idc_failed, '') as idc_failed_checks,
        in_idc_published,
        ours_regularly_spaced_3d_volume,
        idc_regularly_spaced_3d_volume,
        {%- for check in idc_qc.idc_geometry_checks() %}
        ours_{{ check }},
        idc_{{ check }},
        {%- endfor %}
        ours_obliquity_degrees,
        idc_obliquity_degrees,
        ours_slice_spacing_mm,
        idc_slice_spacing_mm,
        viewer_url
    from paired
)

select * from final
