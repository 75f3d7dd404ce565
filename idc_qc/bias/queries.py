"""The parameterized distribution query: rpt_bias_distributions' counts for any selection.

The selection is the series of ``series`` joined to their patient in ``patient_clinical``
(so ``--where`` may use the columns of either: Modality, manufacturer_harmonized,
collection_id, sex, age_years, has_clinical, ...), optionally only the series or patients of
a cohort file. Demographics count distinct patients per group, manufacturer and model count
series, exactly as rpt_bias_distributions does (tests/dbt/test_clinical_tcga.py keeps the two
equal).
"""

from __future__ import annotations

PATIENT_ATTRIBUTES = {
    "sex": "sex_category",
    "age_group_census": "age_group_census",
    "age_group_midrc": "age_group_midrc",
    "race": "race_category",
    "ethnicity": "ethnicity_category",
}
# The same expressions as macros/clinical/bias_categories.sql.
SERIES_ATTRIBUTES = {
    "manufacturer": "coalesce(manufacturer_harmonized, 'Not reported')",
    "model": "coalesce(nullif(trim(ManufacturerModelName), ''), 'Not reported')",
}


def distribution_sql(*, where: str | None, by: str | None, cohort_filter: str | None, attributes: list[str]) -> str:
    """SQL returning (group_value, attribute, category, unit, n, group_total, share)."""
    group = f"coalesce(cast(({by}) as varchar), 'Not reported')" if by else "'selection'"
    conditions = [f"({where})" if where else "true"]
    if cohort_filter:
        conditions.append(cohort_filter)
    parts = []
    for attribute in attributes:
        if attribute in PATIENT_ATTRIBUTES:
            parts.append(f"select group_value, '{attribute}' as attribute, {PATIENT_ATTRIBUTES[attribute]} as category, "
                         f"'patients' as unit, count(distinct patient_key) as n from grouped where patient_key is not null "
                         f"group by group_value, {PATIENT_ATTRIBUTES[attribute]}")
        elif attribute in SERIES_ATTRIBUTES:
            parts.append(f"select group_value, '{attribute}' as attribute, {SERIES_ATTRIBUTES[attribute]} as category, "
                         f"'series' as unit, count(*) as n from grouped group by group_value, {SERIES_ATTRIBUTES[attribute]}")
    union = "\n    union all\n    ".join(parts)
    return f"""
with joined as (
    -- a left join: series without a usable PatientID still count for manufacturer and model
    select series.*, patient_clinical.* exclude (collection_id)
    from series
    left join patient_clinical
        on patient_clinical.collection_id = series.collection_id
        and patient_clinical.patient_id = series.PatientID
),
selected as (
    select * from joined
    where collection_id is not null and {' and '.join(conditions)}
),
grouped as (
    select {group} as group_value, * from selected
),
counted as (
    {union}
)
select
    group_value, attribute, category, unit, n,
    sum(n) over (partition by group_value, attribute) as group_total,
    n / sum(n) over (partition by group_value, attribute) as share
from counted
order by group_value, attribute, n desc, category
"""
