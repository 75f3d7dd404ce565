{# DICOM Decimal String (DS, PS3.5 6.2): an optional sign, digits with at most one decimal
   point, an optional exponent, surrounding spaces allowed, at most 16 characters. A value
   that is no DS (`1_000`, `0x1A`, `+-1`, `NaN`, `Infinity`, '') is NULL: the engines' casts
   are more lenient (DuckDB reads `1_000` as 1000 and `+-8` as -8, both read NaN and
   Infinity), so the grammar is checked first and the cast only reads what passed. A DS too
   large for a double (`1e309`) still casts, to Infinity on DuckDB: callers test finiteness.

   Cost: this runs on every position, cosine and pixel spacing (11 values an instance). The
   groups are non-capturing (RE2 then matches without tracking submatches, about a third
   faster) and DuckDB's cast already skips the spaces the grammar allows.
   `non_finite=true`: NaN, Inf and Infinity (either sign, any case) are read as the engine's
   cast reads them instead of NULL (a second test, made only for values that are no DS).
   `plain`: a boolean SQL expression, TRUE when the caller has found (once per row, over all
   the decimal strings of the row joined: macro dicom_decimal_text_is_plain) none of the
   characters by which DuckDB's cast reads more than the grammar. On such a row the cast and
   the 16-character limit alone are the grammar, and no regular expression runs (matching 11
   values an instance was a third of the geometry pass over 49M instances).
   BigQuery keeps the regular expression (it is cheap there, and its cast differs). #}
{% macro dicom_decimal(expression, non_finite=false, plain=none) %}{{ return(adapter.dispatch('dicom_decimal', 'idc_qc')(expression, non_finite, plain)) }}{% endmacro %}

{% macro default__dicom_decimal(expression, non_finite=false, plain=none) -%}
(case
      {%- if plain %}
      when {{ plain }} then (case when strlen({{ expression }}) <= 16 then try_cast({{ expression }} as double) end)
      {%- endif %}
      when regexp_full_match({{ expression }}, ' *[+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][+-]?[0-9]+)? *')
        and strlen({{ expression }}) <= 16
      then try_cast({{ expression }} as double)
      {%- if non_finite %}
      when {{ idc_qc.dicom_decimal_is_non_finite_text(expression) }} then try_cast(trim({{ expression }}) as double)
      {%- endif %} end)
{%- endmacro %}

{% macro bigquery__dicom_decimal(expression, non_finite=false, plain=none) -%}
(case when regexp_contains({{ expression }}, r'^ *[+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][+-]?[0-9]+)? *$')
        and length({{ expression }}) <= 16
      then safe_cast(trim({{ expression }}) as float64)
      {%- if non_finite %}
      when {{ idc_qc.dicom_decimal_is_non_finite_text(expression) }} then safe_cast(trim({{ expression }}) as float64)
      {%- endif %} end)
{%- endmacro %}

{# TRUE when a string spells a non-finite number the engines' casts accept (NaN, Inf,
   Infinity, either sign, any case): no DS, but worth telling apart from plain text. Only
   evaluated for values that are no DS. #}
{% macro dicom_decimal_is_non_finite_text(expression) -%}
{{ idc_qc.regex_matches('lower(trim(' ~ expression ~ '))', '[+-]?(nan|inf|infinity)') }}
{%- endmacro %}

{# TRUE when the strings `texts` (SQL expressions: the decimal strings of a row, or arrays of
   them joined) hold none of the characters by which DuckDB's cast reads strings the DS
   grammar rejects: '_' (`1_000`), 'n' or 'N' (NaN, Inf, Infinity), '+' (`+-8`; a DS may have
   it, it only sends the row to the grammar) and the whitespace other than the space (`\t1`).
   On such strings DuckDB's cast succeeds exactly on the DS values
   (tests/dbt/test_dicom_decimal.py compares the two on random strings). NULLs are skipped.
   The strings are joined once (concat_ws) and searched for each character: a search of one
   string per row, not of each value. BigQuery computes the same column (one regular
   expression per string), but its dicom_decimal keeps the grammar whatever it says. #}
{% macro dicom_decimal_text_is_plain(texts) %}{{ return(adapter.dispatch('dicom_decimal_text_is_plain', 'idc_qc')(texts)) }}{% endmacro %}

{% macro default__dicom_decimal_text_is_plain(texts) -%}
{%- set joined = "concat_ws('/', " ~ texts | join(', ') ~ ")" -%}
coalesce(not (
    {%- for needle in ["'_'", "'n'", "'N'", "'+'", 'chr(9)', 'chr(10)', 'chr(11)', 'chr(12)', 'chr(13)'] %}
    contains({{ joined }}, {{ needle }}){{ ' or' if not loop.last }}
    {%- endfor %}), true)
{%- endmacro %}

{% macro bigquery__dicom_decimal_text_is_plain(texts) -%}
not (
    {%- for text in texts %}
    coalesce(regexp_contains({{ text }}, r'[_nN+\t\n\x0b\f\r]'), false){{ ' or' if not loop.last }}
    {%- endfor %})
{%- endmacro %}
