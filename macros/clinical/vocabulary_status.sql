{# valid | missing | unmapped for a raw value joined to the clinical_vocabulary seed as `vocab`:
   missing when empty or a value meaning unknown, unmapped when the seed does not list it. #}
{% macro vocabulary_status(raw, vocab) -%}
  case
    when {{ idc_qc.lacks_text(raw) }} then 'missing'
    when {{ vocab }}.is_missing then 'missing'
    when {{ vocab }}.harmonized is not null then 'valid'
    else 'unmapped'
  end
{%- endmacro %}

{# The key a raw value is looked up by in clinical_vocabulary: trimmed, lower-cased. #}
{% macro vocabulary_key(raw) -%}
  lower(trim(coalesce({{ raw }}, '')))
{%- endmacro %}
