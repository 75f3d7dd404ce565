{# DICOM PatientSex is M, F or O (other). Spelled-out values are accepted; anything else
   becomes NULL with status 'malformed' rather than a guess. #}

{% macro patient_sex(expression) -%}
  case upper(trim({{ expression }}))
    when 'M' then 'M'
    when 'MALE' then 'M'
    when 'F' then 'F'
    when 'FEMALE' then 'F'
    when 'O' then 'O'
    when 'OTHER' then 'O'
  end
{%- endmacro %}

{% macro patient_sex_status(expression) -%}
  case
    when {{ idc_qc.lacks_text(expression) }} then 'missing'
    when {{ idc_qc.patient_sex(expression) }} is null then 'malformed'
    else 'valid'
  end
{%- endmacro %}
