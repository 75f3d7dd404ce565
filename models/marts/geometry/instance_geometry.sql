-- One row per offending instance and reason: the instances a curator has to look at to see
-- why a series is not a regular volume, with the values that make them offend. Instances of
-- regular volumes never appear; an instance with two faults appears twice. Each row carries
-- what a reader filters by (collection, patient, study, description, modality, viewer link),
-- joined after the unnest from series_geometry, which took them from the instance headers
-- (a join of a few rows per offender on a table, not a second aggregate of every instance).
-- A multi-frame object judged frame by frame (int_instances__slices) offends frame by frame:
-- its rows carry the object's SOPInstanceUID and the frame_number.

{%- set rel_tol = var('relative_slice_tolerance') %}
{%- set in_plane_tol = var('in_plane_tolerance') %}
{#- the flags read off an instance's place in its series (all but the odd values'): candidates and
    offending below filter on them #}
{%- set placed_flags = [
    'flag_localizer', 'flag_projection', 'flag_ipp_missing', 'flag_ipp_malformed',
    'flag_iop_missing', 'flag_iop_malformed', 'flag_pixel_spacing_missing', 'flag_pixel_spacing_malformed',
    'flag_dimensions_malformed', 'flag_conflicting_copies',
    'flag_duplicate', 'flag_gap', 'flag_short_gap', 'flag_off_axis', 'flag_other_orientation',
] %}

-- The words this model writes are those of seeds/geometry_reasons.csv: its data tests read
-- the seed, so the ref below makes any selection that builds this model build the seed first
-- (a ref and nothing else: the SQL does not read the seed).
{%- do ref('geometry_reasons') %}

with slice_positions as (
    select * from {{ ref('int_instances__slice_positions') }}
),

-- every instance, read by two joins that each keep a few rows (the series whose values vary,
-- the offending instances): inlined into each, not written out whole (macro inlined_cte)
instances as {{ idc_qc.inlined_cte() }} (
    select * from {{ ref('int_instances__slices') }}
),

series_context as (
    select SeriesInstanceUID, collection_id, PatientID, StudyInstanceUID, SeriesDescription, Modality, viewer_url
    from {{ ref('series_geometry') }}
),

-- Inconsistent pixel spacing or image dimensions: the instances whose value (as written, as
-- IDC compares it) differs from the one most instances of the series share. Read from the raw
-- rows of those few series only (slice_positions does not carry the values: they would go
-- through its sort); the majority counts every instance with a value, localizers included.
odd_value_series as (
    select
        SeriesInstanceUID,
        smallest_pixel_spacing < largest_pixel_spacing as spacing_varies,
        min_rows < max_rows or min_columns < max_columns as dimensions_vary
    from {{ ref('series_geometry') }}
    where smallest_pixel_spacing < largest_pixel_spacing or min_rows < max_rows or min_columns < max_columns
),

odd_value_instances as (
    select
        instances.SeriesInstanceUID,
        instances.SOPInstanceUID,
        any_value(odd_value_series.spacing_varies) as spacing_varies,
        any_value(odd_value_series.dimensions_vary) as dimensions_vary,
        any_value({{ idc_qc.array_join('instances.PixelSpacing', "'/'") }}) as pixel_spacing_text,
        any_value({{ dbt.concat([dbt.safe_cast(adapter.quote('Rows'), dbt.type_string()), "'x'",
                                 dbt.safe_cast(adapter.quote('Columns'), dbt.type_string())]) }}) as dimensions_text
    from instances
    inner join odd_value_series
        on instances.SeriesInstanceUID = odd_value_series.SeriesInstanceUID
    where {{ idc_qc.has_text('instances.SOPInstanceUID') }}
    group by instances.SeriesInstanceUID, instances.SOPInstanceUID
),

{%- for value in ['pixel_spacing_text', 'dimensions_text'] %}

majority_{{ value }} as (
    select SeriesInstanceUID, {{ value }}
    from (
        select
            SeriesInstanceUID,
            {{ value }},
            row_number() over (partition by SeriesInstanceUID order by count(*) desc, {{ value }}) as rank_in_series
        from odd_value_instances
        where {{ value }} is not null
        group by SeriesInstanceUID, {{ value }}
    ) as ranked
    where rank_in_series = 1
),
{%- endfor %}

odd_values as (
    select
        odd_value_instances.SeriesInstanceUID,
        odd_value_instances.SOPInstanceUID,
        odd_value_instances.spacing_varies
            and coalesce(odd_value_instances.pixel_spacing_text <> majority_pixel_spacing_text.pixel_spacing_text, false) as has_odd_pixel_spacing,
        odd_value_instances.dimensions_vary
            and coalesce(odd_value_instances.dimensions_text <> majority_dimensions_text.dimensions_text, false) as has_odd_dimensions
    from odd_value_instances
    left join majority_pixel_spacing_text
        on odd_value_instances.SeriesInstanceUID = majority_pixel_spacing_text.SeriesInstanceUID
    left join majority_dimensions_text
        on odd_value_instances.SeriesInstanceUID = majority_dimensions_text.SeriesInstanceUID
),

-- the series' verdict comes with each instance (joined there on an integer key, after the
-- sort): no second join of millions of instances on the UID here
measured as (
    select
        slice_positions.*,
        coalesce(consistent_in_plane_row and consistent_in_plane_col, false) as aligned_in_plane,
        -- gaps are judged only when every position parsed (as the series' spacing reasons are):
        -- an unparsable position leaves a gap that is no missing slice
        positions_parsed and (missing_slice_count > 0
            or coalesce(largest_gap_ratio > 1 + {{ rel_tol }}, false)) as has_gaps,
        positions_parsed and coalesce(smallest_gap_ratio < 1 - {{ rel_tol }}, false) as has_short_gaps,
        {{ idc_qc.safe_divide('gap_to_next_mm', 'nominal_slice_spacing_mm') }} as gap_ratio
    from slice_positions
),

-- every flag but the odd values'
placed_flagged as (
    select
        *,
        volumetric_instance_count > 0 and is_localizer as flag_localizer,
        volumetric_instance_count > 0 and (is_mip or is_projection) and not is_localizer as flag_projection,
        is_volumetric and geometry_category <> 'missing_geometry' and ipp_status = 'missing' as flag_ipp_missing,
        is_volumetric and ipp_status not in ('ok', 'missing') as flag_ipp_malformed,
        is_volumetric and iop_status = 'missing' as flag_iop_missing,
        is_volumetric and iop_status not in ('ok', 'missing') as flag_iop_malformed,
        is_volumetric and pixel_spacing_status = 'missing' as flag_pixel_spacing_missing,
        is_volumetric and pixel_spacing_status not in ('ok', 'missing') as flag_pixel_spacing_malformed,
        is_volumetric and has_malformed_dimensions as flag_dimensions_malformed,
        has_conflicting_copies as flag_conflicting_copies,
        -- the same position as a neighbour, or closer to it than the spacing tolerance
        geometry_category not in ('multi_stack', 'mosaic')
            and coalesce(gap_to_previous_mm = 0 or gap_to_next_mm = 0
                or gap_to_previous_mm < {{ rel_tol }} * nominal_slice_spacing_mm
                or gap_to_next_mm < {{ rel_tol }} * nominal_slice_spacing_mm, false) as flag_duplicate,
        has_gaps and coalesce(same_orientation, false) and coalesce(gap_ratio > 1 + {{ rel_tol }}, false) as flag_gap,
        -- closer to the next slice than the spacing, yet not at its position (a near-duplicate)
        has_short_gaps and coalesce(same_orientation, false) and geometry_category not in ('multi_stack', 'mosaic')
            and coalesce(gap_ratio < 1 - {{ rel_tol }} and gap_ratio >= {{ rel_tol }}, false) as flag_short_gap,
        not aligned_in_plane and coalesce(same_orientation, false)
            and coalesce(abs(in_plane_row_offset_mm) >= {{ in_plane_tol }} or abs(in_plane_col_offset_mm) >= {{ in_plane_tol }}, false) as flag_off_axis,
        is_volumetric and not coalesce(same_orientation, false) and orientation_text <> majority_orientation as flag_other_orientation
    from measured
),

-- the instances that may offend: those with a flag already, and every instance of the few
-- series whose values vary (only there can an instance have an odd value). The join on the
-- UIDs below then reads these, not every reviewed instance (at IDC's scale 14M wide rows,
-- 20 s of this model's 45).
candidates as (
    select * from placed_flagged
    where {{ placed_flags | join(' or ') }}
        or SeriesInstanceUID in (select SeriesInstanceUID from odd_value_series)
),

flagged as (
    select
        candidates.*,
        candidates.is_volumetric and coalesce(odd_values.has_odd_pixel_spacing, false) as flag_odd_pixel_spacing,
        candidates.is_volumetric and coalesce(odd_values.has_odd_dimensions, false) as flag_odd_dimensions
    from candidates
    left join odd_values
        on candidates.SeriesInstanceUID = odd_values.SeriesInstanceUID
        and candidates.SOPInstanceUID = odd_values.SOPInstanceUID
),

offending as (
    select * from flagged
    where {{ placed_flags | join(' or ') }}
        or flag_odd_pixel_spacing or flag_odd_dimensions
),

-- read twice below (the keys to fetch, the rows to fetch them for): computed once, small
with_reasons as {{ idc_qc.materialized_cte() }} (
    select
        *,
        {{ idc_qc.array_compact("[
            case when flag_localizer then 'localizer' end,
            case when flag_projection then 'projection or MIP' end,
            case when flag_ipp_missing then 'missing ImagePositionPatient' end,
            case when flag_ipp_malformed then 'malformed ImagePositionPatient' end,
            case when flag_iop_missing then 'missing ImageOrientationPatient' end,
            case when flag_iop_malformed then 'malformed ImageOrientationPatient' end,
            case when flag_pixel_spacing_missing then 'missing PixelSpacing' end,
            case when flag_pixel_spacing_malformed then 'malformed PixelSpacing' end,
            case when flag_dimensions_malformed then 'malformed Rows or Columns' end,
            case when flag_conflicting_copies then 'conflicting duplicate instance' end,
            case when flag_duplicate then 'duplicate slice position' end,
            case when flag_gap then 'before a gap' end,
            case when flag_short_gap then 'before a short gap' end,
            case when flag_off_axis then 'off-axis' end,
            case when flag_other_orientation then 'other orientation' end,
            case when flag_odd_pixel_spacing then 'odd pixel spacing' end,
            case when flag_odd_dimensions then 'odd image dimensions' end
        ]") }} as reasons
    from offending
),

-- The values as written, for the offending instances only (a few percent of the reviewed
-- ones): a join on the few offending series' rows instead of carrying lists of strings
-- through the sort. One row per (series, SOP instance) even if the input lists an instance
-- twice, so the join below cannot multiply rows.
offending_keys as (
    select distinct SeriesInstanceUID, SOPInstanceUID
    from with_reasons
),

written as (
    select
        instances.SeriesInstanceUID,
        instances.SOPInstanceUID,
        any_value(instances.ImagePositionPatient) as ImagePositionPatient,
        any_value(instances.ImageOrientationPatient) as ImageOrientationPatient,
        any_value(instances.PixelSpacing) as PixelSpacing,
        -- a frame of a multi-frame object (int_instances__slices): the object's UID and the frame
        any_value(instances.frame_instance_uid) as frame_instance_uid,
        any_value(instances.frame_number) as frame_number
    from instances
    inner join offending_keys
        on instances.SeriesInstanceUID = offending_keys.SeriesInstanceUID
        and instances.SOPInstanceUID = offending_keys.SOPInstanceUID
    group by instances.SeriesInstanceUID, instances.SOPInstanceUID
),

final as (
    select
        with_reasons.SeriesInstanceUID,
        coalesce(written.frame_instance_uid, with_reasons.SOPInstanceUID) as SOPInstanceUID,
        written.frame_number,
        with_reasons.InstanceNumber,
        series_context.collection_id,
        series_context.PatientID,
        series_context.StudyInstanceUID,
        series_context.SeriesDescription,
        series_context.Modality,
        series_context.viewer_url,
        reason,
        with_reasons.geometry_category,
        written.ImagePositionPatient,
        written.ImageOrientationPatient,
        written.PixelSpacing,
        with_reasons.ipp_status,
        with_reasons.iop_status,
        with_reasons.pixel_spacing_status,
        with_reasons.slice_position as slice_position_mm,
        with_reasons.gap_to_previous_mm,
        with_reasons.gap_to_next_mm,
        with_reasons.gap_ratio,
        with_reasons.nominal_slice_spacing_mm,
        with_reasons.in_plane_row_offset_mm,
        with_reasons.in_plane_col_offset_mm,
        with_reasons.orientation_text as orientation,
        with_reasons.majority_orientation
    from with_reasons
    inner join written
        on with_reasons.SeriesInstanceUID = written.SeriesInstanceUID
        and with_reasons.SOPInstanceUID = written.SOPInstanceUID
    {{ idc_qc.cross_join_unnest('with_reasons.reasons', 'reason') }}
    left join series_context
        on with_reasons.SeriesInstanceUID = series_context.SeriesInstanceUID
)

select * from final
