{# The sum of a column of decimals written to `places` places (IDC's series_size_MB: megabytes to
   six places, whole bytes), the same whatever order the rows come in: each value scaled to a
   whole number (of bytes), the integers summed exactly, the total scaled back once. A sum of
   doubles depends on the order it adds them in, so a report of sizes changed in its last digits
   when only the order of the series table changed (the same input built twice; issue 24).
   Integers rather than decimals: the same SQL on both engines, and the BigQuery emulator types a
   bare NUMERIC with three places. #}
{% macro sum_exact(expression, places=6) -%}
{%- set scale = 10 ** places -%}
cast(sum(cast(round({{ expression }} * {{ scale }}) as {{ dbt.type_bigint() }})) as {{ idc_qc.type_double() }}) / {{ scale }}
{%- endmacro %}
