{# How a multi-valued decimal attribute parsed, as one word:
     'missing'      the attribute is absent (NULL array)
     'wrong_count'  it does not hold exactly `values | length` values
     'non_numeric'  a value does not parse as a number (empty, text, NULL element)
     'nan'          a value parsed to NaN or +/-Infinity
     'ok'           otherwise
   `array` is the raw array of strings, `values` the already parsed doubles (one per
   expected value), so the casts are not repeated here. #}
{% macro geometry_parse_status(array, values) -%}
case
    when {{ array }} is null then 'missing'
    when {{ idc_qc.array_length(array) }} <> {{ values | length }} then 'wrong_count'
    when {% for v in values %}{{ v }} is null{% if not loop.last %} or {% endif %}{% endfor %} then 'non_numeric'
    when not ({% for v in values %}{{ idc_qc.is_finite(v) }}{% if not loop.last %} and {% endif %}{% endfor %}) then 'nan'
    else 'ok'
end
{%- endmacro %}
