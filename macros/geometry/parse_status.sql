{# How a multi-valued decimal attribute parsed, as one word:
     'missing'      the attribute is absent (NULL array)
     'wrong_count'  it does not hold exactly `values | length` values
     'nan'          a value is no finite number: NaN or Infinity as text, or a DS too large
                    for a double (1e309)
     'non_numeric'  a value is no DICOM decimal string (empty, text, `1_000`, NULL element)
     'non_positive' a value is zero or negative where `positive` (PixelSpacing)
     'ok'           otherwise
   `array` is the raw array of strings, `values` the already parsed doubles (one per
   expected value, NULL where not a DS), so the casts are not repeated here. #}
{% macro geometry_parse_status(array, values, positive=false) -%}
case
    when {{ array }} is null then 'missing'
    when {{ idc_qc.array_length(array) }} <> {{ values | length }} then 'wrong_count'
    when {% for v in values %}{{ v }} is null{% if not loop.last %} or {% endif %}{% endfor %} then
        case when {% for v in values %}{{ idc_qc.dicom_decimal_is_non_finite_text(idc_qc.array_element(array, loop.index0)) }}{% if not loop.last %} or {% endif %}{% endfor %}
            then 'nan' else 'non_numeric' end
    when not ({% for v in values %}{{ idc_qc.is_finite(v) }}{% if not loop.last %} and {% endif %}{% endfor %}) then 'nan'
    {%- if positive %}
    when {% for v in values %}{{ v }} <= 0{% if not loop.last %} or {% endif %}{% endfor %} then 'non_positive'
    {%- endif %}
    else 'ok'
end
{%- endmacro %}
