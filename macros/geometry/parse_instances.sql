{# The per-instance geometry of int_instances__geometry_parsed as CTEs over `source_cte` (a CTE
   holding stg_dicom__instances rows): texts -> checked -> parsed -> classified -> projected. A macro so that the
   instance-level review (int_instances__slice_positions) parses only the instances of the
   series it looks into, with exactly the same arithmetic. `carry`: further columns of
   `source_cte` to pass through unchanged; `prefix`: put before the five CTE names, for a
   model that parses two sets of rows. #}
{# A decimal string of the geometry as a double: a DICOM DS (macro dicom_decimal), or NaN /
   +-Infinity when it spells one. No DS, NaN and Infinity make the instance malformed all the
   same (status 'nan'), but IDC's columns see them as IDC's SAFE_CAST does: as NaN, which
   keeps its checks (unique positions, in-plane ranges) what IDC computes. Text that is no DS
   and no NaN/Infinity (`1_000`, `n/a`) is NULL. #}
{% macro geometry_decimal(expression) -%}
{{ idc_qc.dicom_decimal(expression, non_finite=true, plain='decimal_text_is_plain') }}
{%- endmacro %}

{% macro geometry_parse_instances(source_cte, carry=[], prefix='') %}
-- the decimal strings of each row joined once: IDC compares orientations and pixel spacings
-- as these strings, and one test of all of them together tells whether the engine's cast
-- alone reads them by the DS grammar (macro dicom_decimal_text_is_plain)
{{ prefix }}texts as (
    select
        *,
        {{ idc_qc.array_join('ImageOrientationPatient', "'/'") }} as orientation_text,
        {{ idc_qc.array_join('PixelSpacing', "'/'") }} as pixel_spacing_text,
        {{ idc_qc.array_join('ImagePositionPatient', "'/'") }} as position_text
    from {{ source_cte }}
),

{{ prefix }}checked as (
    select
        *,
        {{ idc_qc.dicom_decimal_text_is_plain(['position_text', 'orientation_text', 'pixel_spacing_text', 'GantryDetectorTilt']) }} as decimal_text_is_plain
    from {{ prefix }}texts
),

{{ prefix }}parsed as (
    select
        {%- for column in carry %}
        {{ column }},
        {%- endfor %}
        SeriesInstanceUID,
        SOPInstanceUID,
        SOPClassUID,
        Modality,
        InstanceNumber,
        ImagePositionPatient,
        ImageOrientationPatient,
        PixelSpacing,
        {{ adapter.quote('Rows') }},
        {{ adapter.quote('Columns') }},
        dimensions_not_integers,

        -- ImageType as one '|'-delimited string: element tests become LIKE patterns
        -- ('|' cannot occur in a DICOM code string, and unlike '\' it is no LIKE escape).
        '|' || coalesce({{ idc_qc.array_join('ImageType', "'|'") }}, '') || '|' as image_type_text,

        -- IDC's in-scope SOP classes: single-frame CT, MR and PET image storage.
        coalesce(SOPClassUID in (
            '1.2.840.10008.5.1.4.1.1.2',
            '1.2.840.10008.5.1.4.1.1.4',
            '1.2.840.10008.5.1.4.1.1.128'
        ), false) as is_idc_sop_class,

        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImagePositionPatient', 0)) }} as ipp_x,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImagePositionPatient', 1)) }} as ipp_y,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImagePositionPatient', 2)) }} as ipp_z,

        -- row direction cosines (IOP values 0-2), column direction cosines (3-5). Every decimal
        -- string is read by the DICOM DS grammar (macro dicom_decimal), not by the engine's cast
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 0)) }} as row_cosine_x,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 1)) }} as row_cosine_y,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 2)) }} as row_cosine_z,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 3)) }} as column_cosine_x,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 4)) }} as column_cosine_y,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('ImageOrientationPatient', 5)) }} as column_cosine_z,

        -- IDC compares orientations and pixel spacings as the written strings
        orientation_text,
        pixel_spacing_text,
        decimal_text_is_plain,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('PixelSpacing', 0)) }} as pixel_spacing_row_mm,
        {{ idc_qc.geometry_decimal(idc_qc.array_element('PixelSpacing', 1)) }} as pixel_spacing_column_mm,

        {{ idc_qc.geometry_decimal('GantryDetectorTilt') }} as gantry_detector_tilt,
        {{ dbt.safe_cast('NumberOfFrames', dbt.type_bigint()) }} as number_of_frames,
        -- United Imaging's grid, its mosaic: NumberOfImagesInGrid, private (0065,1050), which
        -- dcm2niix reads (and unpacks) only when Manufacturer begins with 'UI' (nii_dicom.cpp)
        case when upper(Manufacturer) like 'UI%'
            then {{ idc_qc.safe_double(idc_qc.other_element_value('00651050')) }} end as uih_images_in_grid,
        -- a frame of a multi-frame object judged frame by frame (int_instances__slices); NULL otherwise
        frame_number,

        -- attributes that tell several stacks of one series apart (4D, echoes, diffusion)
        TemporalPositionIdentifier,
        EchoTime,
        AcquisitionNumber,
        DiffusionBValue
    from {{ prefix }}checked
),

{{ prefix }}classified as (
    select
        *,
        image_type_text like '%|LOCALIZER|%' as is_localizer,
        -- IDC's own test: any ImageType value containing MIP
        image_type_text like '%MIP%' as is_mip,
        image_type_text like '%|PROJECTION IMAGE|%' as is_projection,
        -- a mosaic tiles many slices into one image: Siemens' (ImageType MOSAIC) or United Imaging's grid
        image_type_text like '%|MOSAIC|%' or coalesce(uih_images_in_grid > 1, false) as is_mosaic,
        coalesce(uih_images_in_grid > 1, false) and image_type_text not like '%|MOSAIC|%' as is_uih_mosaic,
        {{ idc_qc.geometry_parse_status('ImagePositionPatient', ['ipp_x', 'ipp_y', 'ipp_z']) }} as ipp_status,
        {{ idc_qc.geometry_parse_status('ImageOrientationPatient', ['row_cosine_x', 'row_cosine_y', 'row_cosine_z', 'column_cosine_x', 'column_cosine_y', 'column_cosine_z']) }} as iop_status,
        {{ idc_qc.geometry_parse_status('PixelSpacing', ['pixel_spacing_row_mm', 'pixel_spacing_column_mm'], positive=true) }} as pixel_spacing_status,
        -- a matrix of zero or fewer rows or columns is no image, nor one written as no integer
        coalesce({{ adapter.quote('Rows') }} <= 0 or {{ adapter.quote('Columns') }} <= 0, false)
            or coalesce(dimensions_not_integers, false) as has_malformed_dimensions,

        -- slice normal = row cosines x column cosines, (bf - ce, cd - af, ae - bd)
        row_cosine_y * column_cosine_z - row_cosine_z * column_cosine_y as normal_x,
        row_cosine_z * column_cosine_x - row_cosine_x * column_cosine_z as normal_y,
        row_cosine_x * column_cosine_y - row_cosine_y * column_cosine_x as normal_z
    from {{ prefix }}parsed
),

{{ prefix }}projected as (
    select
        *,
        -- a volumetric instance is one that can be a slice of the volume: not a localizer,
        -- projection or MIP, and either of IDC's image classes or carrying a position
        not (is_localizer or is_mip or is_projection)
            and (is_idc_sop_class or ImagePositionPatient is not null) as is_volumetric,
        sqrt(normal_x * normal_x + normal_y * normal_y + normal_z * normal_z) as normal_magnitude,
        -- how far the direction cosines are from two orthogonal unit vectors: the largest of
        -- |row . column|, |row . row - 1| and |column . column - 1| (IDC's test, |row x column|
        -- = 1, misses a column vector tilted towards the row vector)
        {{ idc_qc.greatest_or_null([
            'abs(row_cosine_x * column_cosine_x + row_cosine_y * column_cosine_y + row_cosine_z * column_cosine_z)',
            'abs(row_cosine_x * row_cosine_x + row_cosine_y * row_cosine_y + row_cosine_z * row_cosine_z - 1)',
            'abs(column_cosine_x * column_cosine_x + column_cosine_y * column_cosine_y + column_cosine_z * column_cosine_z - 1)'
        ]) }} as orientation_error,
        -- position along the slice normal, and the offsets along the row and column directions
        -- (NaN for a NaN or infinite value, as in IDC: the instance review leaves those out)
        ipp_x * normal_x + ipp_y * normal_y + ipp_z * normal_z as slice_position,
        ipp_x * row_cosine_x + ipp_y * row_cosine_y + ipp_z * row_cosine_z as in_plane_row,
        ipp_x * column_cosine_x + ipp_y * column_cosine_y + ipp_z * column_cosine_z as in_plane_column
    from {{ prefix }}classified
)
{% endmacro %}
