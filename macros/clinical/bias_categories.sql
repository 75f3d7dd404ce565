{# The manufacturer and model categories the bias analysis counts: missing is 'Not reported'
   (a category, never dropped). The same expressions are used by rpt_bias_distributions and
   by idc_qc/bias/queries.py (a test keeps the two equal). #}
{% macro bias_manufacturer_category(column) -%}
  coalesce({{ column }}, 'Not reported')
{%- endmacro %}

{% macro bias_model_category(column) -%}
  coalesce(nullif(trim({{ column }}), ''), 'Not reported')
{%- endmacro %}
