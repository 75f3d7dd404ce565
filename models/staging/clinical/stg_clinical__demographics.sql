-- One row per row of every clinical table listed in the dbt var clinical_tables: the patient
-- key and the demographic columns each table has, as text (the values are harmonized in
-- int_clinical__patients). Which column holds sex, age, race, ethnicity or vital status is
-- data (the store's column_metadata.concept, or the var on BigQuery), so the union is
-- generated here; a table without a concept gives NULL. With no clinical data the model is
-- empty with the same columns.
--
-- Age: the table's age column in years when it has one, else -days_to_birth / 365.25 (TCGA's
-- days_to_birth counts back from diagnosis).

{%- set tables = idc_qc.run_var('clinical_tables') %}
{#- Lineage: table_metadata describes the tables read below; it is read only when there are some. #}
{%- set table_metadata = source('idc_clinical', 'table_metadata') %}


with

{% if tables | length == 0 %}
clinical_rows as (
    select
        cast(null as {{ dbt.type_string() }}) as collection_id,
        cast(null as {{ dbt.type_string() }}) as clinical_table_name,
        cast(null as {{ dbt.type_string() }}) as dicom_patient_id,
        cast(null as {{ dbt.type_bigint() }}) as source_row,
        cast(null as {{ dbt.type_string() }}) as sex_raw,
        cast(null as {{ idc_qc.type_double() }}) as age_years_raw,
        cast(null as {{ idc_qc.type_double() }}) as days_to_birth_raw,
        cast(null as {{ dbt.type_string() }}) as race_raw,
        cast(null as {{ dbt.type_string() }}) as ethnicity_raw,
        cast(null as {{ dbt.type_string() }}) as vital_status_raw
    from (select 1 as one) as no_clinical_data
    where 1 = 0
),
{% else %}
clinical_rows as (
    {%- for t in tables %}
    select
        cast('{{ t.collection_id | replace("'", "''") }}' as {{ dbt.type_string() }}) as collection_id,
        cast('{{ t.table_name | replace("'", "''") }}' as {{ dbt.type_string() }}) as clinical_table_name,
        trim(cast(dicom_patient_id as {{ dbt.type_string() }})) as dicom_patient_id,
        {% if t.source_row %}cast({{ adapter.quote(t.source_row) }} as {{ dbt.type_bigint() }}){% else %}cast(null as {{ dbt.type_bigint() }}){% endif %} as source_row,
        {{ idc_qc.clinical_text_column(t.sex) }} as sex_raw,
        {{ idc_qc.clinical_number_column(t.age_years) }} as age_years_raw,
        {{ idc_qc.clinical_number_column(t.days_to_birth) }} as days_to_birth_raw,
        {{ idc_qc.clinical_text_column(t.race) }} as race_raw,
        {{ idc_qc.clinical_text_column(t.ethnicity) }} as ethnicity_raw,
        {{ idc_qc.clinical_text_column(t.vital_status) }} as vital_status_raw
    from {{ idc_qc.clinical_table(t.table_name) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{% endif %}

numbered as (
    select
        clinical_rows.*,
        -- the line of the registered file (local store); a stable order where the table has none (BigQuery)
        coalesce(
            source_row,
            row_number() over (partition by clinical_table_name order by dicom_patient_id)
        ) as clinical_row_number
    from clinical_rows
),

final as (
    select
        {{ dbt.concat(["clinical_table_name", "':'", "cast(clinical_row_number as " ~ dbt.type_string() ~ ")"]) }} as clinical_row_id,
        collection_id,
        clinical_table_name,
        dicom_patient_id,
        clinical_row_number,
        sex_raw,
        case
            when age_years_raw is not null then age_years_raw
            when days_to_birth_raw is not null then -days_to_birth_raw / 365.25
        end as age_years,
        case
            when age_years_raw is not null then 'age_years'
            when days_to_birth_raw is not null then 'days_to_birth'
        end as age_column_kind,
        race_raw,
        ethnicity_raw,
        vital_status_raw
    from numbered
)

select * from final
