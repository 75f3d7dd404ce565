{# The IDC viewer link of a series, as idc-index's get_viewer_URL() builds it: slide
   microscopy (Modality SM) opens in IDC's Slim viewer (<slim>/<study>/series/<series>), every
   other modality in OHIF v3 (<ohif>?StudyInstanceUIDs=<study>&initialSeriesInstanceUID=<series>).
   Base URLs are the dbt vars viewer_base_url (OHIF) and slim_viewer_base_url. NULL without a
   study or series UID. Every model that writes a viewer URL calls this macro. #}
{% macro viewer_url(study_uid, series_uid, modality) -%}
case
    when {{ study_uid }} is null or {{ series_uid }} is null then null
    when {{ modality }} = 'SM' then {{ dbt.concat([
        "'" ~ var('slim_viewer_base_url') ~ "'", study_uid, "'/series/'", series_uid]) }}
    else {{ dbt.concat([
        "'" ~ var('viewer_base_url') ~ "'", "'?StudyInstanceUIDs='", study_uid,
        "'&initialSeriesInstanceUID='", series_uid]) }}
end
{%- endmacro %}
