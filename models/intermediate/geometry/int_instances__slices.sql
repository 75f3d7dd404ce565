-- One row per slice the geometry models judge: every instance row as it is, except a
-- multi-frame object whose frames the input resolves (stg_dicom__frames: Enhanced CT/MR/PET,
-- legacy converted enhanced images), which becomes one row per frame with the frame's
-- position, orientation and pixel measures. Such an object is then judged as the stack of
-- slices it is, with the same checks, reasons and categories as a series of single-frame
-- instances; without frames it stays one multi-frame row (reason `multi-frame instances`).
--
-- A frame's row keeps its object's other attributes and is told apart by its key: the
-- SOPInstanceUID column holds `<SOPInstanceUID>#<frame_number>` (a UID has digits and dots
-- only, so no instance can have that key), frame_instance_uid the object's own UID and
-- frame_number the frame's; instance_geometry reports the two apart. NumberOfFrames is 1 on a
-- frame's row (it is one frame), and the frame's TemporalPositionIndex stands in for
-- TemporalPositionIdentifier, so the frames of a 4D object form stacks as 4D series do.
--
-- Without a frames table (synthetic or hand-made parquet, a BigQuery build without the var
-- `frames`) this view is the instances with two NULL columns: no join, no cost.

with instances as (
    select * from {{ ref('stg_dicom__instances') }}
),

frames as (
    select * from {{ ref('stg_dicom__frames') }}
),

{% if not idc_qc.frames_given() %}

slices as (
    select
        *,
        cast(null as {{ dbt.type_bigint() }}) as frame_number,
        cast(null as {{ dbt.type_string() }}) as frame_instance_uid
    from instances
),

{% else %}

-- the objects the frames table resolves (one row each, whatever the input repeats)
expanded_objects as (
    select distinct SeriesInstanceUID, SOPInstanceUID
    from frames
),

slices as (
    select
        *,
        cast(null as {{ dbt.type_bigint() }}) as frame_number,
        cast(null as {{ dbt.type_string() }}) as frame_instance_uid
    from instances
    where not exists (
        select 1
        from expanded_objects
        where expanded_objects.SeriesInstanceUID = instances.SeriesInstanceUID
            and expanded_objects.SOPInstanceUID = instances.SOPInstanceUID
    )

    union all

    select
        instances.* replace (
            {{ dbt.concat(['instances.SOPInstanceUID', "'#'", dbt.safe_cast('frames.frame_number', dbt.type_string())]) }} as SOPInstanceUID,
            frames.ImagePositionPatient as ImagePositionPatient,
            coalesce(frames.ImageOrientationPatient, instances.ImageOrientationPatient) as ImageOrientationPatient,
            coalesce(frames.PixelSpacing, instances.PixelSpacing) as PixelSpacing,
            coalesce(frames.SliceThickness, instances.SliceThickness) as SliceThickness,
            coalesce(frames.SpacingBetweenSlices, instances.SpacingBetweenSlices) as SpacingBetweenSlices,
            cast('1' as {{ dbt.type_string() }}) as NumberOfFrames,
            coalesce({{ dbt.safe_cast('frames.TemporalPositionIndex', dbt.type_string()) }}, instances.TemporalPositionIdentifier) as TemporalPositionIdentifier
        ),
        frames.frame_number,
        instances.SOPInstanceUID as frame_instance_uid
    from instances
    inner join frames
        on instances.SeriesInstanceUID = frames.SeriesInstanceUID
        and instances.SOPInstanceUID = frames.SOPInstanceUID
),

{% endif %}

final as (
    select * from slices
)

select * from final
