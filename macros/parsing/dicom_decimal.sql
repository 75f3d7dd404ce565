{# DICOM Decimal String (DS, PS3.5 6.2): an optional sign, digits with at most one decimal
   point, an optional exponent, surrounding spaces allowed, at most 16 characters. A value
   that is no DS (`1_000`, `0x1A`, `NaN`, `Infinity`, '') is NULL: the engine's own cast is
   more lenient (DuckDB reads `1_000` as 1000, both read NaN and Infinity), so the grammar
   is checked first and the cast only reads what passed. A DS too large for a double
   (`1e309`) still casts, to Infinity on DuckDB: callers test finiteness. #}

{% macro dicom_decimal(expression) -%}
(case when length({{ expression }}) <= 16
        and {{ idc_qc.regex_matches(expression, ' *[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *') }}
      then {{ idc_qc.safe_double('trim(' ~ expression ~ ')') }} end)
{%- endmacro %}

{# TRUE when a string spells a non-finite number the engines' casts accept (NaN, Inf,
   Infinity, either sign, any case): no DS, but worth telling apart from plain text. #}
{% macro dicom_decimal_is_non_finite_text(expression) -%}
{{ idc_qc.regex_matches('lower(trim(' ~ expression ~ '))', '[+-]?(nan|inf|infinity)') }}
{%- endmacro %}
