{#- a view over input that is already series by series (dbt var instances_series_ordered, set by
    `idc-qc build` from the files), else a table written series by series (see below) #}
{%- set as_it_comes = idc_qc.instances_parsed_as_view() %}
{{ config(materialized='view' if as_it_comes else 'table', cluster_by=['SeriesInstanceUID']) }}
-- One row per instance: ImagePositionPatient, ImageOrientationPatient and PixelSpacing
-- parsed once into doubles, a parse status for each, and what the rest of the geometry
-- models derive from them per instance: the slice normal (cross product of the row and
-- column direction cosines), the position along that normal, and the in-plane offsets.
--
-- The arithmetic is IDC's volume_geometry_index.sql term for term (each instance's own
-- normal, not normalised, so `slice_position` and the checks built on it equal IDC's to
-- the last bit); what this model adds is the parse status and the instance's role
-- (volumetric, localizer, projection) that IDC only uses to drop whole series.
--
-- Decimal strings are read by the DICOM DS grammar (macro dicom_decimal): `1_000`, `NaN` or
-- `Infinity` are no positions, whatever the engine's cast makes of them. Rows without a
-- SeriesInstanceUID or SOPInstanceUID are left out here (unusable_instances lists them); an
-- instance listed twice is still two rows here, int_series__geometry_aggregated counts it once.
--
-- Input in arbitrary order (a BigQuery export of dicom_all, a parallel file or DICOMweb ingest):
-- a table written series by series (macro series_ordered), the one pass over every instance
-- that parses, read by every per-series model (the aggregate, the converter model, the
-- instance review) with each series' rows together. On such input they took 3 to 6 times what
-- they take on series-ordered input. Input already series by series (`idc-qc build` looks:
-- dbt var instances_series_ordered): a view, each reader parsing what it reads, as writing the
-- table costs more there than it saves (docs/geometry.md, issue 24). The values as written
-- (lists of strings) are not carried: they are int_instances__slices', and instance_geometry
-- fetches them for the offending instances only.

with instances as (
    select * from {{ ref('int_instances__slices') }}
    -- rows without a series or instance UID are listed by unusable_instances instead
    where {{ idc_qc.geometry_usable_instance() }}
),

{{ idc_qc.geometry_parse_instances('instances') }},

-- SOPClassUID (is_idc_sop_class holds what the geometry reads of it) is not carried: no reader
-- wants it, and it is the widest string per row after the UIDs (issue 24; what leaving it out
-- saves: docs/geometry.md, "One shared pass ... reverted")
final as (
    select {{ idc_qc.star_except(['ImagePositionPatient', 'ImageOrientationPatient', 'PixelSpacing', 'SOPClassUID']) }}
    from projected
)

select * from final
{% if not as_it_comes %}{{ idc_qc.series_ordered() }}{% endif %}
