{# Generic data test: every value of `column_name` (every element, for an array column with
   is_array=true) is a word of seeds/geometry_reasons.csv at `level` (series, instance or
   category). Like dbt's relationships test, over unnested arrays; returns the offending
   values. NULLs pass (not_null tests catch those). #}
{% test in_geometry_vocabulary(model, column_name, level, is_array=false) %}

with vocabulary as (
    select label
    from {{ ref('geometry_reasons') }}
    where level = '{{ level }}'
),

{% if is_array %}
written as (
    select value_ as value
    from {{ model }}
    {{ idc_qc.cross_join_unnest(column_name, 'value_') }}
),
{% else %}
written as (
    select {{ column_name }} as value
    from {{ model }}
),
{% endif %}

validation_errors as (
    select value, count(*) as occurrences
    from written
    where value is not null
        and value not in (select label from vocabulary)
    group by value
)

select * from validation_errors

{% endtest %}
