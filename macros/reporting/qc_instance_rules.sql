{# The DICOM value rules checked on every instance row (rpt_qc_failures, rpt_qc_rule_counts),
   in the spirit of dciodvfy and pydicom's dicom-validator. Each rule is one dict:

     check_name  '<attribute>: <error kind>', the name the report, the GX suite `instances`
                 and <db>.qc_failures.parquet use
     attribute   the DICOM keyword checked
     error_kind  dicom-validator's kinds: missing (NULL) | empty (blank; these three attributes
                 are Type 1) | value not allowed | invalid value
     condition   SQL over one combination of values (SeriesInstanceUID, StudyInstanceUID,
                 PatientID, collection_id, Modality, SOPClassUID, PatientAge, PatientSex,
                 plus known_sop_class / known_modality from the seeds): TRUE when it fails
     observed    SQL: the offending value as written, as a string

   A rule that does not apply (an optional attribute left empty) is FALSE, not a failure.
   SOPInstanceUID (different on every row) is checked per row in rpt_qc_failures; the
   geometry attributes come from the geometry models (qc_geometry_value_checks). The list is returned by a
   macro, not read from a seed, because the column list of the models depends on it at
   compile time. #}

{% macro qc_uid_invalid(column) -%}
(not coalesce({{ idc_qc.regex_matches(column, '(?:0|[1-9][0-9]*)(?:[.](?:0|[1-9][0-9]*))*') }}, false)
    or length({{ column }}) > 64)
{%- endmacro %}

{% macro qc_instance_rules() %}
    {%- set rules = [] %}
    {%- for uid in ['SeriesInstanceUID', 'StudyInstanceUID', 'SOPClassUID'] %}
        {%- do rules.append({
            'check_name': uid ~ ': invalid value', 'attribute': uid, 'error_kind': 'invalid value',
            'condition': 'not ' ~ idc_qc.lacks_text(uid) ~ ' and ' ~ idc_qc.qc_uid_invalid(uid),
            'observed': uid}) %}
    {%- endfor %}
    {%- do rules.append({
        'check_name': 'StudyInstanceUID: missing', 'attribute': 'StudyInstanceUID', 'error_kind': 'missing',
        'condition': 'StudyInstanceUID is null', 'observed': "'(null)'"}) %}
    {%- do rules.append({
        'check_name': 'StudyInstanceUID: empty', 'attribute': 'StudyInstanceUID', 'error_kind': 'empty',
        'condition': "trim(StudyInstanceUID) = ''", 'observed': "'(empty)'"}) %}
    {%- do rules.append({
        'check_name': 'SOPClassUID: missing', 'attribute': 'SOPClassUID', 'error_kind': 'missing',
        'condition': 'SOPClassUID is null', 'observed': "'(null)'"}) %}
    {%- do rules.append({
        'check_name': 'SOPClassUID: empty', 'attribute': 'SOPClassUID', 'error_kind': 'empty',
        'condition': "trim(SOPClassUID) = ''", 'observed': "'(empty)'"}) %}
    {%- do rules.append({
        'check_name': 'SOPClassUID: value not allowed', 'attribute': 'SOPClassUID', 'error_kind': 'value not allowed',
        'condition': 'not ' ~ idc_qc.lacks_text('SOPClassUID') ~ ' and not ' ~ idc_qc.qc_uid_invalid('SOPClassUID') ~ ' and not known_sop_class',
        'observed': 'SOPClassUID'}) %}
    {%- do rules.append({
        'check_name': 'Modality: missing', 'attribute': 'Modality', 'error_kind': 'missing',
        'condition': 'Modality is null', 'observed': "'(null)'"}) %}
    {%- do rules.append({
        'check_name': 'Modality: empty', 'attribute': 'Modality', 'error_kind': 'empty',
        'condition': "trim(Modality) = ''", 'observed': "'(empty)'"}) %}
    {%- do rules.append({
        'check_name': 'Modality: value not allowed', 'attribute': 'Modality', 'error_kind': 'value not allowed',
        'condition': 'not ' ~ idc_qc.lacks_text('Modality') ~ ' and not known_modality', 'observed': 'Modality'}) %}
    {%- do rules.append({
        'check_name': 'PatientAge: invalid value', 'attribute': 'PatientAge', 'error_kind': 'invalid value',
        'condition': 'not ' ~ idc_qc.lacks_text('PatientAge') ~ ' and not ' ~ idc_qc.regex_matches('PatientAge', '[0-9]{3}[DWMY]'),
        'observed': 'PatientAge'}) %}
    {%- do rules.append({
        'check_name': 'PatientSex: value not allowed', 'attribute': 'PatientSex', 'error_kind': 'value not allowed',
        'condition': "not " ~ idc_qc.lacks_text('PatientSex') ~ " and trim(PatientSex) not in ('M', 'F', 'O')",
        'observed': 'PatientSex'}) %}
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

{# Value rules the geometry models already evaluate (their parse statuses): rpt_qc_failures
   reads series_geometry's counts and instance_geometry's written values for them. #}
{% macro qc_geometry_value_checks() %}
    {%- set checks = [{'check_name': 'SOPInstanceUID: invalid value', 'attribute': 'SOPInstanceUID', 'error_kind': 'invalid value'}] %}
    {%- for attr in ['ImagePositionPatient', 'ImageOrientationPatient', 'PixelSpacing'] %}
        {%- do checks.append({'check_name': attr ~ ': missing', 'attribute': attr, 'error_kind': 'missing'}) %}
        {%- do checks.append({'check_name': attr ~ ': invalid value', 'attribute': attr, 'error_kind': 'invalid value'}) %}
    {%- endfor %}
    {%- do checks.append({'check_name': 'Rows or Columns: invalid value', 'attribute': 'Rows', 'error_kind': 'invalid value'}) %}
    {{ return(checks) }}
{% endmacro %}
