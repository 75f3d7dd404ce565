{# A per-build value that idc-qc passes as the environment variable IDC_QC_VAR_<name> (JSON),
   else the dbt var of that name (a direct `dbt run --vars ...`). Why: these values (file paths,
   the input's description) differ from build to build, and dbt parses the whole project anew
   whenever a --vars value changes, or re-parses every file that read an environment variable
   whose value changed (and every node downstream of it). So the environment is read only when a
   model runs (`execute`), never while dbt parses: a new input re-parses nothing. While parsing,
   the value is the dbt var's (the project default under idc-qc); code that chooses refs or
   sources must therefore not depend on it. The names: idc_qc/dbt_runner.py, RUN_VARS. #}
{% macro run_var(name, default=none) -%}
  {%- set given = env_var('IDC_QC_VAR_' ~ name, '') if execute else '' -%}
  {%- if given != '' -%}{{ return(fromjson(given)) }}
  {%- elif default is none -%}{{ return(var(name)) }}
  {%- else -%}{{ return(var(name, default)) }}{%- endif -%}
{%- endmacro %}

{# The relation a staging model reads a source through. On BigQuery, the source (a table). On
   DuckDB, the parquet files of the run var the source's meta names (`run_var`; with `file`, the
   file of that name in the folder the var gives, `{name}` being the table's name), resolved
   when the model runs: YAML cannot read a run var without dbt re-parsing everything downstream
   of the source on every new value (see run_var above). #}
{% macro source_files(source_name, table_name) -%}
  {{ return(adapter.dispatch('source_files', 'idc_qc')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__source_files(source_name, table_name) -%}
  {{ return(source(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__source_files(source_name, table_name) -%}
  {#- source() always: it is how dbt knows the model reads the source (lineage) #}
  {%- set relation = source(source_name, table_name) -%}
  {%- if not execute -%}{{ return(relation) }}{%- endif -%}
  {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
  {%- set meta = node.config.meta or node.meta -%}
  {%- if not meta.get('run_var') -%}{{ return(relation) }}{%- endif -%}
  {%- set paths = idc_qc.run_var(meta['run_var']) -%}
  {%- if paths is string -%}{%- set paths = [paths] -%}{%- endif -%}
  {%- if not paths or paths[0] == '' -%}
    {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " reads the files of the dbt var "
       ~ meta['run_var'] ~ ", which is empty: give it (idc-qc build sets it)") }}
  {%- endif -%}
  {%- if meta.get('file') -%}
    {%- set paths = [paths[0] ~ '/' ~ meta['file'] | replace('{name}', table_name)] -%}
  {%- endif -%}
  {%- set quoted = [] -%}
  {%- for path in paths -%}{%- do quoted.append("'" ~ (path | replace("'", "''")) ~ "'") -%}{%- endfor -%}
  {{ return("read_parquet([" ~ quoted | join(", ") ~ "]" ~ (", " ~ meta['read_options'] if meta.get('read_options') else "") ~ ")") }}
{%- endmacro %}
