{# `has_text(x)`: TRUE when a string holds more than spaces, FALSE when it is empty or all
   spaces, NULL when it is NULL (which WHERE treats as false), i.e. `trim(x) <> ''`.
   `lacks_text(x)`: its complement, TRUE for NULL too.
   Why a macro: these tests run on every instance row (49M at IDC scale), and DuckDB's trim()
   copies every string it reads; a UID almost never starts with a space, so DuckDB first
   compares the string with '' and looks at its first character, and trims only the rare
   string that starts with a space (about 2.5 s less per scan there). DuckDB's trim() removes
   spaces only; BigQuery's removes all whitespace, so it keeps the plain form. #}
{% macro has_text(expression) %}{{ return(adapter.dispatch('has_text', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__has_text(expression) %}(trim({{ expression }}) <> ''){% endmacro %}

{% macro duckdb__has_text(expression) -%}
({{ expression }} <> '' and (not starts_with({{ expression }}, ' ') or trim({{ expression }}) <> ''))
{%- endmacro %}


{% macro lacks_text(expression) %}{{ return(adapter.dispatch('lacks_text', 'idc_qc')(expression)) }}{% endmacro %}

{% macro default__lacks_text(expression) %}({{ expression }} is null or trim({{ expression }}) = ''){% endmacro %}

{% macro duckdb__lacks_text(expression) -%}
({{ expression }} is null or {{ expression }} = '' or (starts_with({{ expression }}, ' ') and trim({{ expression }}) = ''))
{%- endmacro %}
