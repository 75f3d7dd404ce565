-- The US 2020 census reference of MIDRC's diversity calculator as shares (0-1), under the
-- attribute names of rpt_bias_distributions: sex, race, ethnicity, age_group_census (the
-- census's 11 groups), age_group_midrc (the same figures summed into MIDRC's 0-17, 18-49,
-- 50-64 and 65+), race_and_ethnicity. Seeds us_census_2020_midrc and bias_age_groups.

with census as (
    select * from {{ ref('us_census_2020_midrc') }}
),

age_groups as (
    select * from {{ ref('bias_age_groups') }}
    where scheme = 'census'
),

renamed as (
    select
        case attribute
            when 'Sex' then 'sex'
            when 'Race' then 'race'
            when 'Ethnicity' then 'ethnicity'
            when 'Age at Index' then 'age_group_census'
            when 'Race and Ethnicity' then 'race_and_ethnicity'
        end as attribute,
        category,
        percent_of_us_population / 100.0 as share
    from census
),

midrc_ages as (
    select
        'age_group_midrc' as attribute,
        age_groups.midrc_age_group as category,
        sum(renamed.share) as share
    from renamed
    inner join age_groups
        on renamed.attribute = 'age_group_census'
        and renamed.category = age_groups.age_group
    group by age_groups.midrc_age_group
),

final as (
    select attribute, category, share from renamed
    union all
    select attribute, category, share from midrc_ages
)

select
    {{ dbt.concat(["attribute", "'|'", "category"]) }} as reference_key,
    attribute,
    category,
    share
from final
