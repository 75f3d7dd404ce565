{# A string literal holding ``text`` (an apostrophe included). Standard SQL (DuckDB) doubles a
   quote inside a literal ('IDC''s'); BigQuery reads '' as two adjacent literals, so it escapes
   with a backslash ('IDC\'s'). #}
{% macro quoted_text(text) %}{{ return(adapter.dispatch('quoted_text', 'idc_qc')(text)) }}{% endmacro %}

{% macro default__quoted_text(text) %}'{{ text | replace("'", "''") }}'{% endmacro %}

{% macro bigquery__quoted_text(text) %}'{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'{% endmacro %}
