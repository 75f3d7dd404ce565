{# The DICOM value rules checked on every instance row (rpt_qc_failures, rpt_qc_rule_counts),
   in the spirit of dciodvfy and pydicom's dicom-validator. Each rule is one dict:

     check_name  '<attribute>: <error kind>', the name the report, the GX suite `instances`
                 and <db>.qc_failures.parquet use
     attribute   the DICOM keyword checked
     error_kind  dicom-validator's kinds: missing | empty | value not allowed | invalid value
     condition   SQL over one instance row (columns of stg_dicom__instances, plus
                 known_sop_class / known_modality from the seeds): TRUE when the row fails
     observed    SQL: the offending value as written, as a string

   A rule that does not apply to a row (an optional attribute left empty, a position on an
   instance without a pixel matrix) is FALSE there, not a failure. The list is returned by a
   macro, not read from a seed, because the column list of the models depends on it at
   compile time. #}

{% macro qc_uid_invalid(column) -%}
(not coalesce({{ idc_qc.regex_matches(column, '(?:0|[1-9][0-9]*)(?:[.](?:0|[1-9][0-9]*))*') }}, false)
    or length({{ column }}) > 64)
{%- endmacro %}

{% macro qc_decimals_invalid(column, count, positive=false) -%}
({{ idc_qc.array_length(column) }} <> {{ count }}
{%- for i in range(count) %}
    or {{ idc_qc.dicom_decimal(idc_qc.array_element(column, i)) }} is null
    {%- if positive %} or {{ idc_qc.dicom_decimal(idc_qc.array_element(column, i)) }} <= 0{% endif %}
{%- endfor %})
{%- endmacro %}

{# An image instance whose plane is in the top-level header: it has a pixel matrix and is
   single-frame (multi-frame objects keep positions per frame in functional groups). #}
{% macro qc_single_frame_image() -%}
({{ adapter.quote('Rows') }} is not null and (NumberOfFrames is null or trim(NumberOfFrames) in ('', '1')))
{%- endmacro %}

{% macro qc_blank(column) -%}
({{ column }} is null or trim({{ column }}) = '')
{%- endmacro %}

{% macro qc_instance_rules() %}
    {%- set decimals = "coalesce(" ~ idc_qc.array_join('{col}', "'|'") ~ ", '(null)')" %}
    {%- set rules = [] %}
    {%- for uid in ['SOPInstanceUID', 'SeriesInstanceUID', 'StudyInstanceUID', 'SOPClassUID'] %}
        {%- do rules.append({
            'check_name': uid ~ ': invalid value', 'attribute': uid, 'error_kind': 'invalid value',
            'condition': 'not ' ~ idc_qc.qc_blank(uid) ~ ' and ' ~ idc_qc.qc_uid_invalid(uid),
            'observed': uid}) %}
    {%- endfor %}
    {%- do rules.append({
        'check_name': 'StudyInstanceUID: missing', 'attribute': 'StudyInstanceUID', 'error_kind': 'missing',
        'condition': idc_qc.qc_blank('StudyInstanceUID'), 'observed': "coalesce(StudyInstanceUID, '(null)')"}) %}
    {%- do rules.append({
        'check_name': 'SOPClassUID: missing', 'attribute': 'SOPClassUID', 'error_kind': 'missing',
        'condition': idc_qc.qc_blank('SOPClassUID'), 'observed': "coalesce(SOPClassUID, '(null)')"}) %}
    {%- do rules.append({
        'check_name': 'SOPClassUID: value not allowed', 'attribute': 'SOPClassUID', 'error_kind': 'value not allowed',
        'condition': 'not ' ~ idc_qc.qc_blank('SOPClassUID') ~ ' and not ' ~ idc_qc.qc_uid_invalid('SOPClassUID') ~ ' and not known_sop_class',
        'observed': 'SOPClassUID'}) %}
    {%- do rules.append({
        'check_name': 'Modality: missing', 'attribute': 'Modality', 'error_kind': 'missing',
        'condition': idc_qc.qc_blank('Modality'), 'observed': "coalesce(Modality, '(null)')"}) %}
    {%- do rules.append({
        'check_name': 'Modality: value not allowed', 'attribute': 'Modality', 'error_kind': 'value not allowed',
        'condition': 'not ' ~ idc_qc.qc_blank('Modality') ~ ' and not known_modality', 'observed': 'Modality'}) %}
    {%- do rules.append({
        'check_name': 'PatientAge: invalid value', 'attribute': 'PatientAge', 'error_kind': 'invalid value',
        'condition': 'not ' ~ idc_qc.qc_blank('PatientAge') ~ ' and not ' ~ idc_qc.regex_matches('PatientAge', '[0-9]{3}[DWMY]'),
        'observed': 'PatientAge'}) %}
    {%- do rules.append({
        'check_name': 'PatientSex: value not allowed', 'attribute': 'PatientSex', 'error_kind': 'value not allowed',
        'condition': "not " ~ idc_qc.qc_blank('PatientSex') ~ " and trim(PatientSex) not in ('M', 'F', 'O')",
        'observed': 'PatientSex'}) %}
    {%- for attr, count, positive in [('ImagePositionPatient', 3, false), ('ImageOrientationPatient', 6, false), ('PixelSpacing', 2, true)] %}
        {%- do rules.append({
            'check_name': attr ~ ': missing', 'attribute': attr, 'error_kind': 'missing',
            'condition': idc_qc.qc_single_frame_image() ~ ' and ' ~ attr ~ ' is null', 'observed': "'(null)'"}) %}
        {%- do rules.append({
            'check_name': attr ~ ': invalid value', 'attribute': attr, 'error_kind': 'invalid value',
            'condition': attr ~ ' is not null and ' ~ idc_qc.qc_decimals_invalid(attr, count, positive),
            'observed': decimals.replace('{col}', attr)}) %}
    {%- endfor %}
    {%- for attr in ['Rows', 'Columns'] %}
        {%- do rules.append({
            'check_name': attr ~ ': invalid value', 'attribute': attr, 'error_kind': 'invalid value',
            'condition': adapter.quote(attr) ~ ' <= 0', 'observed': dbt.safe_cast(adapter.quote(attr), dbt.type_string())}) %}
    {%- endfor %}
    {{ return(rules) }}
{% endmacro %}

{# Series-level rules: checks that need more than one row (a series' instances agree on
   patient and study) or more than one table (every input series reaches the marts). #}
{% macro qc_series_rules() %}
    {{ return([
        {'suite': 'instances', 'check_name': 'series instances agree on PatientID', 'attribute': 'PatientID', 'error_kind': 'inconsistent'},
        {'suite': 'instances', 'check_name': 'series instances agree on StudyInstanceUID', 'attribute': 'StudyInstanceUID', 'error_kind': 'inconsistent'},
        {'suite': 'completeness', 'check_name': 'input series present in series', 'attribute': 'SeriesInstanceUID', 'error_kind': 'missing'},
        {'suite': 'completeness', 'check_name': 'input series has a geometry verdict', 'attribute': 'geometry_category', 'error_kind': 'missing'},
    ]) }}
{% endmacro %}

{# Geometry categories that are failures a curator fixes (the series was meant to be one
   volume, or must be split first). The others say what a series is (one slice, a pair, a
   localizer, a report, a mosaic), not that something is wrong with it. #}
{% macro qc_failing_geometry_categories() %}
    {{ return(['irregular_volume', 'malformed_geometry', 'multi_stack']) }}
{% endmacro %}
