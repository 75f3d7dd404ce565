{{ config(materialized='table') }}
-- One row per series with at least one instance placed in space (a position and an
-- orientation that parse to numbers): the numbers each converter's rules read, measured the
-- way each tool measures them (seeds/converter_rules.csv names the rule, its tolerance and
-- the line of the tool's code; series_converters turns these numbers into outcomes).
--
-- Unlike series_geometry, which judges the volumetric instances, the tools read every file
-- of the series: highdicom, SimpleITK and dcm2niix stack localizers too (or split them off),
-- dicom2nifti drops them by ImageType first. So the instances are sorted along the normal of
-- the series' main orientation: all of them, and, in the few series where dicom2nifti drops
-- some, those it keeps (elsewhere what it keeps is every instance, and its numbers are those
-- of the first sort).
--
-- Three reads of the parsed instances (int_instances__geometry_parsed: a table written series
-- by series, so that each read finds a series' rows together whatever the input order), none
-- of them materialised again (at IDC's scale a
-- materialised copy of every instance is gigabytes spilled to disk, and the sort behind a
-- window carries every column it is given: the first version of this model, which kept two
-- such copies and sorted them whole, took 477 s of a 494 s build on 49M instances):
-- 1. one GROUP BY to the few kinds of instance of each series (`kinds`: one row per distinct
--    orientation, matrix size, ImageType flags, EchoTime and AcquisitionNumber, with their
--    count): every count, distinct count and dicom2nifti's choice of what it keeps is read off
--    these kinds, since each is a function of them;
-- 2. one window over every instance, carrying only the key, the position and the normal, with
--    one ORDER BY (one sort) for every measure of the stack, and how often each position is
--    repeated (copies_in_sort, below);
-- 3. the same over the instances dicom2nifti keeps, of the series where it drops some (a scan
--    that reads nothing else: the join to those series is empty elsewhere).
-- A table, not a view: series_converters and this model's key tests read it.

{%- set cosines = ['row_cosine_x', 'row_cosine_y', 'row_cosine_z', 'column_cosine_x', 'column_cosine_y', 'column_cosine_z'] %}
{%- set cosine_differences = [] %}
{%- set cosine_excesses = [] %}
{%- for c in cosines %}
{%- do cosine_differences.append('abs(kinds.' ~ c ~ ' - unit_reference.reference_' ~ c ~ ')') %}
{%- do cosine_excesses.append('abs(kinds.' ~ c ~ ' - unit_reference.reference_' ~ c ~ ') - (tolerances.d2n_orientation_atol + tolerances.d2n_orientation_rtol * abs(unit_reference.reference_' ~ c ~ '))') %}
{%- endfor %}
{#- dcm2niix's phase, real and imaginary images (ImageType joined by '_', its own tests) #}
{%- set complex_part -%}
case when strpos(replace(image_type_text, '|', '_'), '_P_') > 0
                or strpos(image_type_text, 'PHASE') > 0 then 'P' else '' end
            || case when strpos(replace(image_type_text, '|', '_'), '_R_') > 0
                or strpos(image_type_text, '|REAL|') > 0 then 'R' else '' end
            || case when strpos(replace(image_type_text, '|', '_'), '_I_') > 0
                or strpos(image_type_text, '|IMAGINARY|') > 0 then 'I' else '' end
{%- endset %}
{%- set unit_normal = {} %}
{%- for a in ['x', 'y', 'z'] %}
{%- do unit_normal.update({a: idc_qc.safe_divide('unit_reference.normal_' ~ a, 'unit_reference.normal_length')}) %}
{%- endfor %}
{%- set unit_normals -%}
{{ unit_normal['x'] }} as unit_normal_x,
        {{ unit_normal['y'] }} as unit_normal_y,
        {{ unit_normal['z'] }} as unit_normal_z,
        instances.ipp_x * {{ unit_normal['x'] }} + instances.ipp_y * {{ unit_normal['y'] }} + instances.ipp_z * {{ unit_normal['z'] }} as slice_position
{%- endset %}
{#- an instance placed in space, as the two sorts read it: its series' key, position and normal #}
{%- set placed_columns -%}
unit_reference.series_key,
        instances.SOPInstanceUID,
        instances.ipp_x,
        instances.ipp_y,
        instances.ipp_z,
        {{ unit_normals }}
{%- endset %}
{#- is_dropped_by_dicom2nifti_type (see `kinds`), also on the instances parsed again for the third read #}
{%- set dropped_by_dicom2nifti_type = "coalesce(@is_localizer or (@Modality = 'CT' and @is_projection), false)" %}
{%- set whole = 'rows between unbounded preceding and unbounded following' %}
{#- How often each position is repeated: where int_instances__geometry_parsed is a table (input in
    arbitrary order; BigQuery), a GROUP BY of the placed instances by position, then by series, at
    IDC's scale a third of what a window partitioned by the position costs (10.8 against 28.8 s),
    and the sort carries one column fewer (issue 24). Where it is a view (series-ordered input) that
    GROUP BY would parse every instance a second time, so a window counts them in the one read
    and the sort carries the count, as before. Both give the same fewest and most copies. #}
{%- set copies_in_sort = idc_qc.instances_parsed_as_view() %}
{%- set every_copies = 'every_series' if copies_in_sort else 'every_position_copies' %}
{%- set d2n_copies = 'd2n_series' if copies_in_sort else 'd2n_position_copies' %}
{#- dicom2nifti's numpy.allclose per coordinate: by how much |a - b| exceeds atol + rtol * |b| #}
{%- set increment_excesses = [] %}
{%- set tilt_excesses = {'same': [], 'opposite': []} %}
{%- for a in ['x', 'y', 'z'] %}
{%- do increment_excesses.append('abs(first_step_' ~ a ~ ' - step_' ~ a ~ ') - (tolerances.d2n_increment_atol + tolerances.d2n_increment_rtol * abs(step_' ~ a ~ '))') %}
{%- set unit = idc_qc.safe_divide('last_' ~ a ~ ' - first_' ~ a, 'span_mm') %}
{%- do tilt_excesses['same'].append('abs(unit_normal_' ~ a ~ ' - ' ~ unit ~ ') - (tolerances.d2n_tilt_atol + tolerances.d2n_tilt_rtol * abs(' ~ unit ~ '))') %}
{%- do tilt_excesses['opposite'].append('abs(unit_normal_' ~ a ~ ' + ' ~ unit ~ ') - (tolerances.d2n_tilt_atol + tolerances.d2n_tilt_rtol * abs(' ~ unit ~ '))') %}
{%- endfor %}

with rules as (
    select * from {{ ref('converter_rules') }}
),

-- the tolerances the measures below depend on, one row (the seed is the one home of each)
tolerances as (
    select
        max(case when rule_id = 'dicom2nifti_orientation' then relative_tolerance end) as d2n_orientation_rtol,
        max(case when rule_id = 'dicom2nifti_orientation' then absolute_tolerance end) as d2n_orientation_atol,
        max(case when rule_id = 'dicom2nifti_slice_increment' then relative_tolerance end) as d2n_increment_rtol,
        max(case when rule_id = 'dicom2nifti_slice_increment' then absolute_tolerance end) as d2n_increment_atol,
        max(case when rule_id = 'dicom2nifti_gantry_tilt' then relative_tolerance end) as d2n_tilt_rtol,
        max(case when rule_id = 'dicom2nifti_gantry_tilt' then absolute_tolerance end) as d2n_tilt_atol,
        max(case when rule_id = 'dcm2niix_split_orientation' then absolute_tolerance end) as dcm2niix_orientation_atol,
        max(case when rule_id = 'dcm2niix_gantry_tilt' then absolute_tolerance end) as dcm2niix_tilt_cosine_atol
    from rules
),

-- the multi-frame objects of each series whose frames the input resolves (stg_dicom__frames:
-- empty without a frames table), and how many of their frames lack InStackPositionNumber
frame_objects as (
    select
        SeriesInstanceUID,
        count(distinct SOPInstanceUID) as object_count,
        count(*) - count(InStackPositionNumber) as frames_without_in_stack_position
    from {{ ref('stg_dicom__frames') }}
    group by SeriesInstanceUID
),

-- read 1: the kinds of instance of each series, with how many of each (a series has one to a
-- handful: its main orientation, a localizer's, an echo or a phase image apart)
kinds as (
    select
        SeriesInstanceUID,
        orientation_text,
        coalesce(cast({{ adapter.quote('Rows') }} as {{ dbt.type_string() }}), '?') || 'x'
            || coalesce(cast({{ adapter.quote('Columns') }} as {{ dbt.type_string() }}), '?') as matrix_size,
        is_localizer,
        -- dicom2nifti drops ImageType LOCALIZER, and for CT PROJECTION IMAGE, before anything else
        {{ dropped_by_dicom2nifti_type | replace('@', '') }} as is_dropped_by_dicom2nifti_type,
        coalesce(image_type_text like '%DERIVED%', false) as is_derived,
        {{ complex_part }} as complex_part,
        coalesce(trim(EchoTime), '') as echo_time,
        coalesce(trim(AcquisitionNumber), '') as acquisition_number,
        min(Modality) as Modality,
        count(*) as instance_count,
        -- rows that are frames of a multi-frame object (int_instances__slices)
        count(frame_number) as frame_row_count,
        {%- for c in cosines %}
        -- a function of orientation_text (the cosines are parsed from it)
        min({{ c }}) as {{ c }},
        {%- endfor %}
        min(pixel_spacing_row_mm) as min_pixel_spacing_row_mm,
        max(pixel_spacing_row_mm) as max_pixel_spacing_row_mm,
        min(pixel_spacing_column_mm) as min_pixel_spacing_column_mm,
        max(pixel_spacing_column_mm) as max_pixel_spacing_column_mm,
        max(gantry_detector_tilt) as gantry_detector_tilt
    from {{ ref('int_instances__geometry_parsed') }}
    where ipp_status = 'ok' and iop_status = 'ok'
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9
),

-- the orientation most instances share (the smallest as written on a tie): the tools sort
-- along its normal, and a localizer is the odd one out
orientation_counts as (
    select
        SeriesInstanceUID,
        orientation_text,
        sum(instance_count) as instance_count,
        {%- for c in cosines %}
        min({{ c }}) as {{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    from kinds
    group by SeriesInstanceUID, orientation_text
),

ranked_orientations as (
    select
        *,
        row_number() over (partition by SeriesInstanceUID order by instance_count desc, orientation_text) as rank_in_series
    from orientation_counts
),

reference as (
    select
        SeriesInstanceUID,
        {%- for c in cosines %}
        {{ c }} as reference_{{ c }},
        {%- endfor %}
        row_cosine_y * column_cosine_z - row_cosine_z * column_cosine_y as normal_x,
        row_cosine_z * column_cosine_x - row_cosine_x * column_cosine_z as normal_y,
        row_cosine_x * column_cosine_y - row_cosine_y * column_cosine_x as normal_z
    from ranked_orientations
    where rank_in_series = 1
),

-- an integer key per series: the sorts and groupings below partition by it, not by the UID string
unit_reference as (
    select
        reference.*,
        sqrt(normal_x * normal_x + normal_y * normal_y + normal_z * normal_z) as normal_length,
        row_number() over (order by SeriesInstanceUID) as series_key
    from reference
),

-- each kind against the main orientation: how far its cosines are (dcm2niix: largest
-- absolute difference; dicom2nifti: numpy.allclose's excess over atol + rtol * |reference|)
placed_kinds as (
    select
        kinds.*,
        unit_reference.series_key,
        {{ idc_qc.greatest_or_null(cosine_differences) }} as orientation_deviation,
        {{ idc_qc.greatest_or_null(cosine_excesses) }} as d2n_orientation_excess
    from kinds
    inner join unit_reference
        on kinds.SeriesInstanceUID = unit_reference.SeriesInstanceUID
    cross join tolerances
),

-- dicom2nifti then drops orientation groups of fewer than 4 instances when there is more than one
-- orientation: the main group stays, another stays when it has 4 or more instances
d2n_orientation_groups as (
    select
        series_key,
        orientation_text,
        sum(instance_count) as instance_count
    from placed_kinds
    where not is_dropped_by_dicom2nifti_type and d2n_orientation_excess > 0
    group by series_key, orientation_text
),

kept_kinds as (
    select
        placed_kinds.*,
        not placed_kinds.is_dropped_by_dicom2nifti_type
            and (placed_kinds.d2n_orientation_excess <= 0 or d2n_orientation_groups.instance_count >= 4) as is_kept_by_dicom2nifti
    from placed_kinds
    left join d2n_orientation_groups
        on placed_kinds.series_key = d2n_orientation_groups.series_key
        and placed_kinds.orientation_text = d2n_orientation_groups.orientation_text
),

-- the series where dicom2nifti drops an instance (a localizer, an odd orientation): only there
-- are the instances it keeps sorted apart from the rest
d2n_partial as (
    select distinct series_key
    from kept_kinds
    where not is_kept_by_dicom2nifti
),

-- the kinds dicom2nifti keeps in those series, for the third read
d2n_kept_kinds as (
    select
        unit_reference.SeriesInstanceUID,
        kept_kinds.orientation_text,
        kept_kinds.is_dropped_by_dicom2nifti_type
    from kept_kinds
    inner join d2n_partial
        on kept_kinds.series_key = d2n_partial.series_key
    inner join unit_reference
        on kept_kinds.series_key = unit_reference.series_key
    where kept_kinds.is_kept_by_dicom2nifti
    group by 1, 2, 3
),

-- every instance placed in space: its series' key and normal, and where it lies along the normal.
-- Where the parsed instances are a table it is read twice (the copies of each position, the sort),
-- each time from that table: not written out as a copy of every instance first (macro inlined_cte)
every_placed as {{ idc_qc.inlined_cte() }} (
    select
        {{ placed_columns }}
    from {{ ref('int_instances__geometry_parsed') }} as instances
    inner join unit_reference
        on instances.SeriesInstanceUID = unit_reference.SeriesInstanceUID
    where instances.ipp_status = 'ok' and instances.iop_status = 'ok'
),

-- the instances of the series where dicom2nifti drops some (only they): the parsed table's rows
-- of those series, or, where int_instances__geometry_parsed is a view (macro
-- instances_parsed_as_view), their raw rows parsed here after the join, with its parsing
{%- if idc_qc.instances_parsed_as_view() %}
d2n_source as (
    select *
    from {{ ref('int_instances__slices') }}
    where {{ idc_qc.geometry_usable_instance() }}
        and SeriesInstanceUID in (select SeriesInstanceUID from d2n_kept_kinds)
),

{{ idc_qc.geometry_parse_instances('d2n_source', prefix='d2n_') }},
{%- else %}
d2n_projected as (
    select *
    from {{ ref('int_instances__geometry_parsed') }}
    where SeriesInstanceUID in (select SeriesInstanceUID from d2n_kept_kinds)
),
{%- endif %}

-- those dicom2nifti keeps
d2n_placed as (
    select
        {{ placed_columns }}
    from d2n_projected as instances
    inner join d2n_kept_kinds
        on instances.SeriesInstanceUID = d2n_kept_kinds.SeriesInstanceUID
        and instances.orientation_text = d2n_kept_kinds.orientation_text
        and {{ dropped_by_dicom2nifti_type | replace('@', 'instances.') }}
            = d2n_kept_kinds.is_dropped_by_dicom2nifti_type
    inner join unit_reference
        on instances.SeriesInstanceUID = unit_reference.SeriesInstanceUID
    where instances.ipp_status = 'ok' and instances.iop_status = 'ok'
),

{% for set_name in ['every', 'd2n'] %}
{%- set prefix = 'd2n_' if set_name == 'd2n' else '' %}
{%- if copies_in_sort %}
-- {{ 'every instance' if set_name == 'every' else 'the instances dicom2nifti keeps' }}: how often each position is repeated (whole
-- stacks repeat every one), counted before the sort below, which then carries one number more
{{ set_name }}_counted as (
    select
        *,
        count(*) over (partition by series_key, ipp_x, ipp_y, ipp_z) as position_copies
    from {{ set_name }}_placed
),
{%- else %}
-- {{ 'every instance' if set_name == 'every' else 'the instances dicom2nifti keeps' }}: how often each position is repeated (whole
-- stacks repeat every one), as the fewest and the most copies of a position in the series: a
-- GROUP BY by position, then by series (see copies_in_sort above)
{{ set_name }}_position_copies as (
    select
        series_key,
        min(copies) as {{ prefix }}min_position_copies,
        max(copies) as {{ prefix }}max_position_copies
    from (
        select series_key, count(*) as copies
        from {{ set_name }}_placed
        group by series_key, ipp_x, ipp_y, ipp_z
    ) as positions
    group by series_key
),
{%- endif %}

-- sorted along the normal (one ORDER BY, so one sort): the step from the previous instance, and
-- the first and last position and the first step of the series on every row
{{ set_name }}_sorted as (
    select
        series_key,
        {%- if copies_in_sort %}
        position_copies,
        {%- endif %}
        ipp_x,
        ipp_y,
        ipp_z,
        slice_position,
        unit_normal_x,
        unit_normal_y,
        unit_normal_z,
        row_number() over (slice_order) - 1 as slice_index,
        count(*) over (slice_order {{ whole }}) as slice_count,
        slice_position - lag(slice_position) over (slice_order) as gap_mm,
        ipp_x - lag(ipp_x) over (slice_order) as step_x,
        ipp_y - lag(ipp_y) over (slice_order) as step_y,
        ipp_z - lag(ipp_z) over (slice_order) as step_z,
        {%- for axis in ['x', 'y', 'z'] %}
        first_value(ipp_{{ axis }}) over (slice_order {{ whole }}) as first_{{ axis }},
        last_value(ipp_{{ axis }}) over (slice_order {{ whole }}) as last_{{ axis }},
        nth_value(ipp_{{ axis }}, 2) over (slice_order {{ whole }}) - first_value(ipp_{{ axis }}) over (slice_order {{ whole }}) as first_step_{{ axis }},
        {%- endfor %}
        first_value(slice_position) over (slice_order {{ whole }}) as first_slice_position,
        last_value(slice_position) over (slice_order {{ whole }}) as last_slice_position
    from {{ set_name ~ ('_counted' if copies_in_sort else '_placed') }}
    window slice_order as (partition by series_key order by slice_position, SOPInstanceUID)
),

{{ set_name }}_spans as (
    select
        *,
        sqrt(step_x * step_x + step_y * step_y + step_z * step_z) as distance_mm,
        sqrt((last_x - first_x) * (last_x - first_x) + (last_y - first_y) * (last_y - first_y)
            + (last_z - first_z) * (last_z - first_z)) as span_mm,
        sqrt((ipp_x - first_x) * (ipp_x - first_x) + (ipp_y - first_y) * (ipp_y - first_y)
            + (ipp_z - first_z) * (ipp_z - first_z)) as span_to_here_mm,
        sqrt(first_step_x * first_step_x + first_step_y * first_step_y + first_step_z * first_step_z) as first_distance_mm
    from {{ set_name }}_sorted
),

{{ set_name }}_spacing as (
    select
        *,
        -- SimpleITK's spacing: |last - first| / (n - 1)
        {{ idc_qc.safe_divide('span_mm', 'slice_count - 1') }} as itk_spacing_mm,
        -- highdicom's: the mean step along the normal
        {{ idc_qc.safe_divide('last_slice_position - first_slice_position', 'slice_count - 1') }} as mean_gap_mm
    from {{ set_name }}_spans
),

{{ set_name }}_measured as (
    select
        {{ set_name }}_spacing.*,
        -- highdicom: |cos| of the angle between the span from the first position and the normal
        {{ idc_qc.safe_divide(
            'abs((ipp_x - first_x) * unit_normal_x + (ipp_y - first_y) * unit_normal_y + (ipp_z - first_z) * unit_normal_z)',
            'span_to_here_mm') }} as span_cosine,
        -- SimpleITK puts slice k at first + k * spacing * normal: how far that is from where it is
        sqrt(
            (first_x + slice_index * itk_spacing_mm * unit_normal_x - ipp_x) * (first_x + slice_index * itk_spacing_mm * unit_normal_x - ipp_x)
            + (first_y + slice_index * itk_spacing_mm * unit_normal_y - ipp_y) * (first_y + slice_index * itk_spacing_mm * unit_normal_y - ipp_y)
            + (first_z + slice_index * itk_spacing_mm * unit_normal_z - ipp_z) * (first_z + slice_index * itk_spacing_mm * unit_normal_z - ipp_z)
        ) as itk_displacement_mm,
        -- dicom2nifti: numpy.allclose(first step, this step) per coordinate, by how much it misses
        case when slice_index >= 2 then {{ idc_qc.greatest_or_null(increment_excesses) }} end as d2n_increment_excess,
        -- dicom2nifti: the unit vector first -> last against the normal, either sign (numpy.allclose's excess)
        {{ idc_qc.greatest_or_null(tilt_excesses['same']) }} as d2n_tilt_excess_same,
        {{ idc_qc.greatest_or_null(tilt_excesses['opposite']) }} as d2n_tilt_excess_opposite
    from {{ set_name }}_spacing
    cross join tolerances
),

{% endfor %}
-- per series, over every instance
every_series as (
    select
        series_key,
        max(slice_count) as slice_count,
        sum(case when distance_mm = 0 then 1 else 0 end) as duplicate_position_count,
        max(mean_gap_mm) as mean_gap_mm,
        {{ idc_qc.safe_divide('max(abs(gap_mm - mean_gap_mm))', 'abs(max(mean_gap_mm))') }} as highdicom_spacing_deviation,
        min(case when slice_index >= 1 and span_to_here_mm > 0 then span_cosine end) as highdicom_min_span_cosine,
        max(itk_spacing_mm) as itk_spacing_mm,
        max(itk_displacement_mm) as itk_max_displacement_mm,
        max(abs(distance_mm - itk_spacing_mm)) as itk_max_step_deviation_mm,
        {{ idc_qc.safe_divide(
            'max(abs((last_x - first_x) * unit_normal_x + (last_y - first_y) * unit_normal_y + (last_z - first_z) * unit_normal_z))',
            'max(span_mm)') }} as stack_normal_cosine,
        max(abs(distance_mm - first_distance_mm)) as max_distance_deviation_mm,
        -- dicom2nifti's numbers where it keeps every instance (d2n_series holds the others)
        max(d2n_increment_excess) as d2n_increment_excess,
        max({{ idc_qc.least_or_null(['d2n_tilt_excess_same', 'd2n_tilt_excess_opposite']) }}) as d2n_tilt_excess,
        -- GDCM (SimpleITK's reader of one multi-frame file) steps along the normal between the
        -- distinct positions: their mean, and the largest and smallest step
        {{ idc_qc.safe_divide('max(last_slice_position - first_slice_position)', 'count(case when gap_mm > 0 then 1 end)') }} as distinct_mean_gap_mm,
        max(case when gap_mm > 0 then gap_mm end) as max_distinct_gap_mm,
        {%- if copies_in_sort %}
        min(position_copies) as min_position_copies,
        max(position_copies) as max_position_copies,
        {%- endif %}
        min(case when gap_mm > 0 then gap_mm end) as min_distinct_gap_mm
    from every_measured
    group by series_key
),

-- per series where dicom2nifti drops an instance, over what it keeps
d2n_series as (
    select
        series_key,
        max(slice_count) as d2n_slice_count,
        max(d2n_increment_excess) as d2n_increment_excess,
        {%- if copies_in_sort %}
        min(position_copies) as d2n_min_position_copies,
        max(position_copies) as d2n_max_position_copies,
        {%- endif %}
        max({{ idc_qc.least_or_null(['d2n_tilt_excess_same', 'd2n_tilt_excess_opposite']) }}) as d2n_tilt_excess
    from d2n_measured
    group by series_key
),

-- per series, over every instance: what the tools compare for equality, and dcm2niix's groups
attributes as (
    select
        series_key,
        min(Modality) as Modality,
        sum(instance_count) as instance_count,
        sum(case when is_localizer then instance_count else 0 end) as localizer_count,
        sum(case when is_dropped_by_dicom2nifti_type then instance_count else 0 end) as d2n_dropped_by_type_count,
        sum(case when not is_dropped_by_dicom2nifti_type and not is_kept_by_dicom2nifti then instance_count else 0 end) as d2n_dropped_by_orientation_count,
        count(distinct matrix_size) as matrix_size_count,
        sum(case when is_kept_by_dicom2nifti then instance_count else 0 end) as d2n_kept_count,
        count(distinct case when is_kept_by_dicom2nifti then matrix_size end) as d2n_matrix_size_count,
        max(case when is_kept_by_dicom2nifti then d2n_orientation_excess end) as d2n_orientation_excess,
        -- one multi-frame object: dicom2nifti drops nothing from it, so every kind counts
        max(d2n_orientation_excess) as d2n_every_orientation_excess,
        sum(frame_row_count) as frame_row_count,
        max(orientation_deviation) as orientation_deviation,
        coalesce(max(max_pixel_spacing_row_mm) > min(min_pixel_spacing_row_mm)
            or max(max_pixel_spacing_column_mm) > min(min_pixel_spacing_column_mm), false) as pixel_spacing_varies,
        {{ idc_qc.greatest_or_null(['max(max_pixel_spacing_row_mm) - min(min_pixel_spacing_row_mm)',
                                    'max(max_pixel_spacing_column_mm) - min(min_pixel_spacing_column_mm)']) }} as pixel_spacing_range_mm,
        max(gantry_detector_tilt) as gantry_detector_tilt,
        count(distinct case when is_derived then 'derived' else 'original' end) as derived_group_count,
        count(distinct complex_part) as complex_part_count,
        count(distinct echo_time) as echo_time_count,
        count(distinct acquisition_number) as acquisition_number_count,
        count(distinct case when orientation_deviation <= tolerances.dcm2niix_orientation_atol then '' else orientation_text end) as dcm2niix_orientation_count,
        -- dcm2niix stacks only instances equal in all of its split keys the input carries
        count(distinct matrix_size || '|' || case when is_derived then 'derived' else 'original' end
            || '|' || echo_time
            || '|' || complex_part
            || '|' || case when orientation_deviation <= tolerances.dcm2niix_orientation_atol then '' else orientation_text end) as dcm2niix_volume_count,
        max(tolerances.dcm2niix_tilt_cosine_atol) as dcm2niix_tilt_cosine_atol
    from kept_kinds
    cross join tolerances
    group by series_key
),

-- series that are one multi-frame object (every placed row a frame of it): the tools read such a
-- file by its own rules (series_converters' *_object_* rules); dicom2nifti keeps all of it
object_series as (
    select
        attributes.series_key,
        coalesce(frame_objects.object_count = 1 and attributes.frame_row_count = attributes.instance_count, false)
            as is_multi_frame_object,
        frame_objects.frames_without_in_stack_position
    from attributes
    inner join unit_reference
        on attributes.series_key = unit_reference.series_key
    left join frame_objects
        on unit_reference.SeriesInstanceUID = frame_objects.SeriesInstanceUID
),

final as (
    select
        unit_reference.SeriesInstanceUID,
        attributes.Modality,
        attributes.instance_count,
        attributes.localizer_count,
        attributes.matrix_size_count,
        attributes.orientation_deviation,
        attributes.pixel_spacing_varies,
        attributes.pixel_spacing_range_mm,
        attributes.gantry_detector_tilt,
        every_series.slice_count,
        every_series.duplicate_position_count,
        every_series.mean_gap_mm,
        every_series.highdicom_spacing_deviation,
        every_series.highdicom_min_span_cosine,
        {{ idc_qc.radians_to_degrees('acos(' ~ idc_qc.least_or_null(['1.0', 'every_series.stack_normal_cosine']) ~ ')') }} as stack_tilt_degrees,
        every_series.stack_normal_cosine,
        every_series.itk_spacing_mm,
        every_series.itk_max_displacement_mm,
        every_series.itk_max_step_deviation_mm,
        attributes.derived_group_count,
        attributes.complex_part_count,
        {{ every_copies }}.min_position_copies,
        {{ every_copies }}.max_position_copies,
        attributes.echo_time_count,
        attributes.acquisition_number_count,
        attributes.dcm2niix_orientation_count,
        attributes.dcm2niix_volume_count,
        -- dcm2niix estimates the tilt of CT (and of any series with a GantryDetectorTilt) from the
        -- first and last position, and multiplies every distance by its cosine
        (attributes.Modality = 'CT' or coalesce(attributes.gantry_detector_tilt, 0) > 0)
            and every_series.slice_count > 1
            and every_series.stack_normal_cosine < 1 - attributes.dcm2niix_tilt_cosine_atol as dcm2niix_tilt_estimated,
        every_series.max_distance_deviation_mm * case
            when (attributes.Modality = 'CT' or coalesce(attributes.gantry_detector_tilt, 0) > 0)
                and every_series.stack_normal_cosine < 1 - attributes.dcm2niix_tilt_cosine_atol then every_series.stack_normal_cosine
            when not (attributes.Modality = 'CT' or coalesce(attributes.gantry_detector_tilt, 0) > 0)
                and coalesce(attributes.gantry_detector_tilt, 0) <> 0 then cos(attributes.gantry_detector_tilt * acos(-1) / 180)
            else 1
        end as dcm2niix_distance_deviation_mm,
        -- one multi-frame object: dicom2nifti's multi-frame path drops nothing (no localizer, no
        -- orientation group), so it keeps every frame and its numbers are those of every frame
        case when is_multi_frame_object then 0 else attributes.d2n_dropped_by_type_count end as d2n_dropped_by_type_count,
        case when is_multi_frame_object then 0 else attributes.d2n_dropped_by_orientation_count end as d2n_dropped_by_orientation_count,
        case when is_multi_frame_object then attributes.instance_count else attributes.d2n_kept_count end as d2n_kept_count,
        case when is_multi_frame_object then attributes.matrix_size_count else attributes.d2n_matrix_size_count end as d2n_matrix_size_count,
        case when is_multi_frame_object then attributes.d2n_every_orientation_excess else attributes.d2n_orientation_excess end as d2n_orientation_excess,
        -- where dicom2nifti keeps every instance, its numbers are those of every instance
        case when d2n_partial.series_key is null or is_multi_frame_object then every_series.d2n_increment_excess
            else d2n_series.d2n_increment_excess end as d2n_increment_excess,
        case when d2n_partial.series_key is null or is_multi_frame_object then every_series.d2n_tilt_excess
            else d2n_series.d2n_tilt_excess end as d2n_tilt_excess,
        case when d2n_partial.series_key is null or is_multi_frame_object then {{ every_copies }}.min_position_copies
            else {{ d2n_copies }}.d2n_min_position_copies end as d2n_min_position_copies,
        case when d2n_partial.series_key is null or is_multi_frame_object then {{ every_copies }}.max_position_copies
            else {{ d2n_copies }}.d2n_max_position_copies end as d2n_max_position_copies,
        object_series.is_multi_frame_object,
        object_series.frames_without_in_stack_position,
        -- GDCM gives up on a multi-frame object (spacing 1.0) when a step between distinct
        -- positions is off their mean by more than its ZTolerance: by how much the worst one is
        {{ idc_qc.greatest_or_null(['every_series.max_distinct_gap_mm - every_series.distinct_mean_gap_mm',
                                    'every_series.distinct_mean_gap_mm - every_series.min_distinct_gap_mm']) }} as object_step_deviation_mm
    from attributes
    inner join unit_reference
        on attributes.series_key = unit_reference.series_key
    inner join every_series
        on attributes.series_key = every_series.series_key
    {%- if not copies_in_sort %}
    inner join every_position_copies
        on attributes.series_key = every_position_copies.series_key
    {%- endif %}
    left join d2n_series
        on attributes.series_key = d2n_series.series_key
    {%- if not copies_in_sort %}
    left join d2n_position_copies
        on attributes.series_key = d2n_position_copies.series_key
    {%- endif %}
    left join d2n_partial
        on attributes.series_key = d2n_partial.series_key
    inner join object_series
        on attributes.series_key = object_series.series_key
)

select * from final
