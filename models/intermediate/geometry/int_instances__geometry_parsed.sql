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

with instances as (
    select * from {{ ref('int_instances__slices') }}
    -- rows without a series or instance UID are listed by unusable_instances instead
    where {{ idc_qc.geometry_usable_instance() }}
),

{{ idc_qc.geometry_parse_instances('instances') }},

final as (
    select * from projected
)

select * from final
