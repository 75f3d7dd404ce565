{# Why an input row cannot be placed in any series, or NULL when it can: without a
   SeriesInstanceUID there is no series to judge it in, without a SOPInstanceUID it cannot be
   told apart from the other instances of its series. Staging keeps every row; the geometry
   models read the usable ones (`geometry_usable_instance()`), the mart unusable_instances
   lists the others with this reason, so every input row is accounted for. #}
{% macro geometry_unusable_reason() -%}
case
    when {{ idc_qc.lacks_text('SeriesInstanceUID') }} then 'missing SeriesInstanceUID'
    when {{ idc_qc.lacks_text('SOPInstanceUID') }} then 'missing SOPInstanceUID'
end
{%- endmacro %}

{# The condition a usable row meets (the exact negation of geometry_unusable_reason: a NULL
   UID makes has_text NULL, which WHERE treats as false). #}
{% macro geometry_usable_instance() -%}
({{ idc_qc.has_text('SeriesInstanceUID') }} and {{ idc_qc.has_text('SOPInstanceUID') }})
{%- endmacro %}

{# The condition an unusable row meets (geometry_unusable_reason is not NULL), as a filter
   that reads only the UIDs: the unusable rows are selected before anything else is read. #}
{% macro geometry_unusable_instance() -%}
({{ idc_qc.lacks_text('SeriesInstanceUID') }} or {{ idc_qc.lacks_text('SOPInstanceUID') }})
{%- endmacro %}
