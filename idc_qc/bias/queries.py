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


#: The relation a selection filters (the ``joined`` CTE of :func:`distribution_sql`), as errors name it.
SELECTION_SOURCE = "series joined with patient_clinical"
#: Rows of ``joined`` a selection starts from (a cohort file's condition is added to it).
JOINED_WITH_A_COLLECTION = "(select * from joined where collection_id is not null{extra}) as joined_rows"


def joined_columns(series_columns: list[str], clinical_columns: list[str]) -> list[str]:
    """The columns of the ``joined`` CTE: series' and patient_clinical's but its collection_id."""
    return list(series_columns) + [c for c in clinical_columns if c.lower() != "collection_id"]


def distribution_sql(*, selected: str, by: str | None, attributes: list[str]) -> str:
    """SQL returning (group_value, attribute, category, unit, n, group_total, share).

    ``selected``: a parenthesized subquery over ``joined`` (the series joined to their patient)
    keeping the selected rows (:meth:`idc_qc.query.selection.Selection.relation`); ``by`` a
    checked expression (:func:`idc_qc.query.safety.check_expression`) or None for one group.
    """
    group = f"coalesce(cast(({by}\n) as varchar), 'Not reported')" if by else "'selection'"
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
    select * from {selected} as selection
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
