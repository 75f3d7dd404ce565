{# The join key into the manufacturer_aliases seed: lower case, every run of
   non-alphanumerics as one space, trimmed ("GE_MEDICAL_SYSTEMS" -> "ge medical systems"). #}
{% macro manufacturer_key(expression) -%}
  trim(lower({{ idc_qc.regex_replace_all(expression, '[^A-Za-z0-9]+', ' ') }}))
{%- endmacro %}
