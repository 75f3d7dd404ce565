-- One row per quality check of rpt_qc_failures, failing or not: how many rows it checked,
-- how many failed, in how many series and collections, and the share that failed. What the
-- Great Expectations suites validate against the thresholds (expectations/thresholds.yml):
-- a check with no failing row still has its row here, so "passed" is a statement, not an
-- absence. The list of checks is the macros' (value, consistency and completeness rules) and
-- the seed's (the series-level geometry reasons of the failing categories).

{%- set rules = idc_qc.qc_geometry_value_checks() + idc_qc.qc_instance_rules() %}
{%- set series_rules = idc_qc.qc_series_rules() %}
{%- set failing_categories = "('" ~ idc_qc.qc_failing_geometry_categories() | join("', '") ~ "')" %}

with failures as (
    select * from {{ ref('rpt_qc_failures') }}
),

-- the input as the series mart counts it (rows with a SeriesInstanceUID): no second pass
series as (
    select SeriesInstanceUID, metadata_instance_count from {{ ref('series') }}
    where has_instance_metadata
),

series_geometry as (
    select SeriesInstanceUID from {{ ref('series_geometry') }}
),

vocabulary as (
    select label, geometry_category from {{ ref('geometry_reasons') }}
    where level = 'series'
        and geometry_category in {{ failing_categories }}
),

-- what each kind of check looks at: instance rows, input series, judged series
denominators as (
    select
        counted_instances.instance_rows,
        counted_instances.input_series,
        counted_series.judged_series
    from (
        select
            cast(sum(metadata_instance_count) as {{ dbt.type_bigint() }}) as instance_rows,
            count(*) as input_series
        from series
    ) as counted_instances
    cross join (
        select count(*) as judged_series from series_geometry
    ) as counted_series
),

checks as (
    {%- for rule in rules %}
    select 'instances' as suite, '{{ rule.check_name }}' as check_name, '{{ rule.attribute }}' as attribute,
        '{{ rule.error_kind }}' as error_kind, 'instance' as checked_unit
    union all
    {%- endfor %}
    {%- for rule in series_rules %}
    select '{{ rule.suite }}', '{{ rule.check_name }}', '{{ rule.attribute }}', '{{ rule.error_kind }}', 'series'
    union all
    {%- endfor %}
    select 'geometry', {{ dbt.concat(["'geometry: '", 'label']) }}, 'geometry_category', geometry_category, 'judged series'
    from vocabulary
),

counted as (
    select
        suite,
        check_name,
        count(*) as failing_series,
        cast(sum(coalesce(failing_instance_count, 1)) as {{ dbt.type_bigint() }}) as failing_instances,
        count(distinct collection_id) as failing_collections
    from failures
    group by suite, check_name
),

final as (
    select
        checks.suite,
        checks.check_name,
        checks.attribute,
        checks.error_kind,
        checks.checked_unit,
        case checks.checked_unit
            when 'instance' then denominators.instance_rows
            when 'series' then denominators.input_series
            else denominators.judged_series
        end as rows_checked,
        -- instance rules count instance rows; series and geometry checks count series
        coalesce(case when checks.checked_unit = 'instance' then counted.failing_instances else counted.failing_series end, 0) as failing_rows,
        coalesce(counted.failing_series, 0) as failing_series,
        coalesce(counted.failing_collections, 0) as failing_collections
    from checks
    cross join denominators
    left join counted
        on checks.suite = counted.suite
        and checks.check_name = counted.check_name
),

shared as (
    select
        *,
        coalesce({{ idc_qc.safe_divide('cast(failing_rows as ' ~ idc_qc.type_double() ~ ')', 'rows_checked') }}, 0) as failing_share
    from final
)

select * from shared
