{# dbt's docs as database comments (+persist_docs, dbt_project.yml). On DuckDB, under `idc-qc build`,
   every built model's description and column descriptions are written after dbt has run, in one
   pass (idc_qc/build.py, _record_finish; dbt_runner.model_docs): dbt's own way runs a column
   query and a statement per model, about a fifth of the models' time in a small build.
   idc-qc sets IDC_QC_DOCS_AFTER_BUILD=1 for its builds; a direct `dbt run` writes them as dbt
   does. Read when a model runs (`execute`), never while dbt parses. #}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
  {%- set after_build = env_var('IDC_QC_DOCS_AFTER_BUILD', '') if execute else '' -%}
  {%- if after_build != '1' -%}
    {{ return(dbt.default__persist_docs(relation, model, for_relation, for_columns)) }}
  {%- endif -%}
{%- endmacro %}
