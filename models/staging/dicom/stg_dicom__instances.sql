-- One row per DICOM instance: the dicom_all columns idc-qc uses, renamed to nothing
-- (DICOM keywords stay) and cast to one set of types whatever the input engine wrote.
-- Only these columns are read, which is what keeps BigQuery scans of dicom_all small; the
-- input's other columns pass through when the var instance_columns_extra names them.

with source as (
    select * from {{ idc_qc.source_files('dicom', 'dicom_all') }}
),

renamed as (
    select
        -- identifiers
        {{ idc_qc.instance_column('SeriesInstanceUID') }},
        {{ idc_qc.instance_column('SOPInstanceUID') }},
        {{ idc_qc.instance_column('SOPClassUID') }},
        {{ idc_qc.instance_column('StudyInstanceUID') }},
        {{ idc_qc.instance_column('PatientID') }},
        {{ idc_qc.instance_column('collection_id') }},
        {{ idc_qc.instance_column('Modality') }},

        -- who and what
        {{ idc_qc.instance_column('Manufacturer') }},
        {{ idc_qc.instance_column('ManufacturerModelName') }},
        {{ idc_qc.instance_column('BodyPartExamined') }},
        {{ idc_qc.instance_column('PatientAge') }},
        {{ idc_qc.instance_column('PatientSex') }},
        {{ idc_qc.instance_column('SeriesDescription') }},
        {{ idc_qc.instance_column('ImageType', 'string_array') }},

        -- geometry
        {{ idc_qc.instance_column('ImagePositionPatient', 'string_array') }},
        {{ idc_qc.instance_column('ImageOrientationPatient', 'string_array') }},
        {{ idc_qc.instance_column('PixelSpacing', 'string_array') }},
        {{ idc_qc.instance_column('Rows', 'integer') }},
        {{ idc_qc.instance_column('Columns', 'integer') }},
        -- Rows or Columns written, but not as an integer: malformed, not missing
        {{ idc_qc.dimensions_not_integers() }} as dimensions_not_integers,
        {{ idc_qc.instance_column('NumberOfFrames') }},
        {{ idc_qc.instance_column('SliceThickness') }},
        {{ idc_qc.instance_column('SpacingBetweenSlices') }},
        {{ idc_qc.instance_column('GantryDetectorTilt') }},

        -- what tells several stacks in one series apart (4D, multi-echo, diffusion)
        {{ idc_qc.instance_column('InstanceNumber') }},
        {{ idc_qc.instance_column('AcquisitionNumber') }},
        {{ idc_qc.instance_column('TemporalPositionIdentifier') }},
        {{ idc_qc.instance_column('EchoTime') }},
        {{ idc_qc.instance_column('DiffusionBValue') }}
        {#- every other column the input has (idc-qc ingest writes all of dicom_all's), as it is:
            `idc-qc build` lists them in the var instance_columns_extra after checking the files;
            empty by default, so a BigQuery build over dicom_all reads the columns above only #}
        {%- for column in idc_qc.run_var('instance_columns_extra', []) %},
        {{ adapter.quote(column) }}
        {%- endfor %}
    from source
)

select * from renamed
