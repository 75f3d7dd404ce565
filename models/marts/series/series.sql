-- Harmonized series: one row per series of the instance metadata, joined with IDC's index
-- where they are in it, so every input series is accounted for; with the dbt var
-- series_scope = 'index' (the default of plain dbt runs, and of `idc-qc build` without
-- instances or with --whole-index) also every other series of the index. Values from the
-- index win where both have them: the index is IDC's curated view of the same headers.

{%- set series_scope = var('series_scope') %}
{%- if series_scope not in ('input', 'index') %}
    {{ exceptions.raise_compiler_error("dbt var series_scope must be 'input' or 'index', found " ~ series_scope | string | tojson) }}
{%- endif %}

with index_series as (
    select * from {{ ref('stg_idc_index__series') }}
),

metadata_series as (
    select * from {{ ref('int_series__instances_aggregated') }}
),

releases as (
    select * from {{ ref('int_series__releases') }}
),

manufacturer_aliases as (
    select * from {{ ref('manufacturer_aliases') }}
),

sop_classes as (
    select * from {{ ref('sop_classes') }}
),

joined as (
    select
        coalesce(i.SeriesInstanceUID, m.SeriesInstanceUID) as SeriesInstanceUID,
        coalesce(i.StudyInstanceUID, m.StudyInstanceUID) as StudyInstanceUID,
        coalesce(i.PatientID, m.PatientID) as PatientID,
        coalesce(i.collection_id, m.collection_id) as collection_id,
        i.analysis_result_id,
        coalesce(i.Modality, m.Modality) as Modality,
        coalesce(i.SOPClassUID, m.SOPClassUID) as SOPClassUID,
        coalesce(i.BodyPartExamined, m.BodyPartExamined) as BodyPartExamined,
        coalesce(i.Manufacturer, m.Manufacturer) as Manufacturer,
        coalesce(i.ManufacturerModelName, m.ManufacturerModelName) as ManufacturerModelName,
        coalesce(i.PatientAge, m.PatientAge) as PatientAge,
        coalesce(i.PatientSex, m.PatientSex) as PatientSex,
        coalesce(i.SeriesDescription, m.SeriesDescription) as SeriesDescription,
        i.sop_class_name as index_sop_class_name,
        i.instance_count as index_instance_count,
        m.metadata_instance_count,
        i.license_short_name,
        i.series_size_mb,
        i.SeriesInstanceUID is not null as in_idc_index,
        m.SeriesInstanceUID is not null as has_instance_metadata
    from index_series as i
    -- input scope: the input's series only (a right join keeps them, in the index or not)
    {{ 'right join' if series_scope == 'input' else 'full outer join' }} metadata_series as m
        on i.SeriesInstanceUID = m.SeriesInstanceUID
),

harmonized as (
    select
        joined.SeriesInstanceUID,
        joined.StudyInstanceUID,
        joined.PatientID,
        joined.collection_id,
        joined.analysis_result_id,
        joined.Modality,
        joined.SOPClassUID,
        coalesce(joined.index_sop_class_name, sop_classes.sop_class_name) as sop_class_name,
        upper(trim(joined.BodyPartExamined)) as body_part_examined,
        joined.Manufacturer,
        case
            when joined.Manufacturer is null or trim(joined.Manufacturer) = '' then null
            when manufacturer_aliases.manufacturer_key is not null then manufacturer_aliases.manufacturer_harmonized
            else trim(joined.Manufacturer)
        end as manufacturer_harmonized,
        joined.ManufacturerModelName,
        joined.PatientAge,
        {{ idc_qc.dicom_age_years('joined.PatientAge') }} as patient_age_years,
        {{ idc_qc.dicom_age_status('joined.PatientAge') }} as patient_age_status,
        joined.PatientSex,
        {{ idc_qc.patient_sex('joined.PatientSex') }} as patient_sex,
        {{ idc_qc.patient_sex_status('joined.PatientSex') }} as patient_sex_status,
        joined.SeriesDescription,
        coalesce(joined.index_instance_count, joined.metadata_instance_count) as instance_count,
        joined.metadata_instance_count,
        joined.in_idc_index,
        joined.has_instance_metadata,
        releases.first_idc_release,
        releases.last_idc_release,
        releases.first_release_date,
        releases.last_release_date,
        joined.license_short_name,
        joined.series_size_mb,
        -- only series IDC holds: a link to a series IDC's viewer cannot load helps no one
        case
            when joined.in_idc_index then {{ idc_qc.viewer_url('joined.StudyInstanceUID', 'joined.SeriesInstanceUID', 'joined.Modality') }}
        end as viewer_url
    from joined
    left join manufacturer_aliases
        on {{ idc_qc.manufacturer_key('joined.Manufacturer') }} = manufacturer_aliases.manufacturer_key
    left join sop_classes
        on joined.SOPClassUID = sop_classes.SOPClassUID
    left join releases
        on joined.SeriesInstanceUID = releases.SeriesInstanceUID
)

select * from harmonized
