-- The distributions the bias analysis compares, in long form: one row per (group, attribute,
-- category) with its count and share of the group. Groups: every collection
-- (group_by = 'collection_id') and the whole archive (group_by = 'archive', the default
-- reference). Demographics count patients with imaging (patient_clinical's *_category and
-- age_group_* columns: missing is the category 'Not reported', never dropped); manufacturer
-- and model count series (manufacturer_harmonized; ManufacturerModelName as written).
-- `idc-qc bias` reads this for its default selection, and computes the Jensen-Shannon
-- distances in Python over these small aggregates; other selections (--where, --cohort)
-- run the same counts as a parameterized query (idc_qc/bias/queries.py).

with patients as (
    select * from {{ ref('patient_clinical') }}
    where has_imaging
),

series as (
    select * from {{ ref('series') }}
    where collection_id is not null
),

patient_values as (
    {%- set attributes = ['sex_category', 'age_group_census', 'age_group_midrc', 'race_category', 'ethnicity_category'] %}
    {%- for column in attributes %}
    select
        collection_id,
        '{{ column | replace("_category", "") }}' as attribute,
        {{ column }} as category,
        'patients' as unit
    from patients
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

series_values as (
    select
        collection_id,
        'manufacturer' as attribute,
        {{ idc_qc.bias_manufacturer_category('manufacturer_harmonized') }} as category,
        'series' as unit
    from series
    union all
    select
        collection_id,
        'model' as attribute,
        {{ idc_qc.bias_model_category('ManufacturerModelName') }} as category,
        'series' as unit
    from series
),

all_values as (
    select * from patient_values
    union all
    select * from series_values
),

counted as (
    select 'collection_id' as group_by, collection_id as group_value, attribute, category, unit, count(*) as n
    from all_values
    group by collection_id, attribute, category, unit
    union all
    select 'archive' as group_by, 'archive' as group_value, attribute, category, unit, count(*) as n
    from all_values
    group by attribute, category, unit
),

final as (
    select
        {{ dbt.concat(["group_by", "'|'", "group_value", "'|'", "attribute", "'|'", "category"]) }} as distribution_key,
        group_by,
        group_value,
        attribute,
        category,
        unit,
        n,
        cast(sum(n) over (partition by group_by, group_value, attribute) as {{ dbt.type_bigint() }}) as group_total,
        cast(n as {{ idc_qc.type_double() }}) / sum(n) over (partition by group_by, group_value, attribute) as share
    from counted
)

select * from final
