-- One row per series ever published by IDC: the first and last release that carried it.
-- A series in the current index is carried by the current release; one that is only in
-- prior_versions_index was last published in its max_idc_version.

with current_series as (
    select * from {{ ref('stg_idc_index__series') }}
),

prior_versions as (
    select * from {{ ref('stg_idc_index__prior_versions') }}
),

releases as (
    select * from {{ ref('stg_idc_index__releases') }}
),

current_release as (
    select max(idc_version) as idc_version from releases
),

prior_by_series as (
    select
        SeriesInstanceUID,
        min(min_idc_version) as first_prior_version,
        max(max_idc_version) as last_prior_version
    from prior_versions
    group by SeriesInstanceUID
),

combined as (
    select
        coalesce(c.SeriesInstanceUID, p.SeriesInstanceUID) as SeriesInstanceUID,
        case
            when c.series_init_idc_version is null then p.first_prior_version
            when p.first_prior_version is null then c.series_init_idc_version
            else least(c.series_init_idc_version, p.first_prior_version)
        end as first_idc_release,
        case
            when c.SeriesInstanceUID is not null then (select idc_version from current_release)
            else p.last_prior_version
        end as last_idc_release,
        c.series_revised_idc_version as revised_idc_release
    from current_series as c
    full outer join prior_by_series as p
        on c.SeriesInstanceUID = p.SeriesInstanceUID
),

dated as (
    select
        combined.*,
        first_release.release_date as first_release_date,
        last_release.release_date as last_release_date
    from combined
    left join releases as first_release
        on combined.first_idc_release = first_release.idc_version
    left join releases as last_release
        on combined.last_idc_release = last_release.idc_version
)

select * from dated
