{# Why an input row cannot be placed in any series, or NULL when it can: without a
   SeriesInstanceUID there is no series to judge it in, without a SOPInstanceUID it cannot be
   told apart from the other instances of its series. Staging keeps every row; the geometry
   models read the usable ones (`geometry_usable_instance()`), the mart unusable_instances
   lists the others with this reason, so every input row is accounted for. #}
{% macro geometry_unusable_reason() -%}
case
    when SeriesInstanceUID is null or trim(SeriesInstanceUID) = '' then 'missing SeriesInstanceUID'
    when SOPInstanceUID is null or trim(SOPInstanceUID) = '' then 'missing SOPInstanceUID'
end
{%- endmacro %}

{# The condition a usable row meets (the exact negation of geometry_unusable_reason: a NULL
   UID makes trim(...) <> '' NULL, which WHERE treats as false). #}
{% macro geometry_usable_instance() -%}
(trim(SeriesInstanceUID) <> '' and trim(SOPInstanceUID) <> '')
{%- endmacro %}
