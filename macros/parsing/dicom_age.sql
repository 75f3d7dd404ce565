{# DICOM Age String (AS): exactly three digits and a unit, D(ays) W(eeks) M(onths) Y(ears),
   e.g. 065Y, 018M, 003W, 010D. Anything else is malformed: NULL years and a status,
   never an error, so one bad header cannot stop a build. #}

{% macro dicom_age_years(expression) -%}
  case
    when {{ idc_qc.regex_matches('trim(' ~ expression ~ ')', '[0-9]{3}[DWMY]') }} then
      cast(substr(trim({{ expression }}), 1, 3) as {{ idc_qc.type_double() }})
      / case substr(trim({{ expression }}), 4, 1)
          when 'Y' then 1.0
          when 'M' then 12.0
          when 'W' then 52.1775
          when 'D' then 365.25
        end
  end
{%- endmacro %}

{% macro dicom_age_status(expression) -%}
  case
    when {{ idc_qc.lacks_text(expression) }} then 'missing'
    when not {{ idc_qc.regex_matches('trim(' ~ expression ~ ')', '[0-9]{3}[DWMY]') }} then 'malformed'
    when {{ idc_qc.dicom_age_years(expression) }} > 120 then 'implausible'
    else 'valid'
  end
{%- endmacro %}
