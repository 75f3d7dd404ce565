{# A per-build value that idc-qc passes as the environment variable IDC_QC_VAR_<name> (JSON),
   else the dbt var of that name (a direct `dbt run --vars ...`). Why: dbt parses the whole
   project anew whenever a --vars value changes, but re-parses only the files that read an
   environment variable whose value changed; these values (file paths, the input's
   description) differ from build to build. The names: idc_qc/dbt_runner.py, RUN_VARS.
   YAML cannot call project macros: the sources write the same expression inline. #}
{% macro run_var(name, default=none) -%}
  {%- set given = env_var('IDC_QC_VAR_' ~ name, '') -%}
  {%- if given != '' -%}{{ return(fromjson(given)) }}
  {%- elif default is none -%}{{ return(var(name)) }}
  {%- else -%}{{ return(var(name, default)) }}{%- endif -%}
{%- endmacro %}
