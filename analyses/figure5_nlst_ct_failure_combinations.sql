-- The counts behind the paper's Figure 5 (UpSet plot of NLST CT series with inconsistent
-- geometry; query: IDC's queryUpsetPlot.sql in ImagingDataCommons/CloudSegmentator): one row
-- per combination of failed IDC volume_geometry_index checks, largest first, with its share
-- of the failing series. `idc-qc upset --collection nlst --modality CT` draws the same.
-- Differences from IDC's query: series with LOCALIZER instances are judged on their other
-- slices (IDC drops them), and no TransferSyntaxUID is excluded (the paper's query skips
-- JPEG-compressed series only because its dcm2niix step could not read them).

{%- set checks = idc_qc.idc_geometry_checks() %}

with failure_sets as (
    select * from {{ ref('rpt_geometry_failure_sets') }}
),

nlst_ct as (
    select *
    from failure_sets
    where collection_id = 'nlst'
      and Modality = 'CT'
),

failing as (
    select *
    from nlst_ct
    where {% for check in checks %}fails_{{ check }}{{ ' or ' if not loop.last }}{% endfor %}
),

combinations as (
    select
        {%- for check in checks %}
        fails_{{ check }},
        {%- endfor %}
        count(*) as series_count
    from failing
    group by {% for check in checks %}fails_{{ check }}{{ ', ' if not loop.last }}{% endfor %}
),

final as (
    select
        combinations.*,
        {{ idc_qc.safe_divide('series_count', 'sum(series_count) over ()') }} as share_of_failing,
        (select count(*) from nlst_ct) as nlst_ct_series
    from combinations
)

select * from final
order by series_count desc
