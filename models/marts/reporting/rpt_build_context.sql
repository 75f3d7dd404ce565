-- One row: what the build's input was, so that every summary, plot and page read from this
-- database can say whether its faults were found in real metadata or injected by idc-qc synth.
-- The values come from dbt vars that `idc-qc build` sets after reading the input's marks
-- (idc_qc/provenance.py: synth's parquet footer key idc_qc.input_kind and its manifest);
-- a plain `dbt build` without them records 'unknown', never a guess. No table is read: the
-- row exists even when a partial build selects only this model.

{%- set kinds = ['synthetic', 'dicom', 'index_only', 'unknown'] %}
{%- set input_kind = idc_qc.run_var('input_kind', 'unknown') | string %}
{%- if input_kind not in kinds %}
    {{ exceptions.raise_compiler_error("dbt var input_kind must be one of " ~ kinds | join(', ') ~ ", found " ~ input_kind | tojson) }}
{%- endif %}

with final as (
    select
        cast({{ dbt.string_literal(input_kind) }} as {{ dbt.type_string() }}) as input_kind,
        {{ 'true' if input_kind == 'synthetic' else 'false' }} as is_synthetic,
        cast({{ dbt.string_literal(idc_qc.run_var('input_detail', '') | string | replace("'", "") | replace("\\", "/") | replace("\n", " ")) }} as {{ dbt.type_string() }}) as input_detail,
        cast({{ dbt.string_literal(
            'SYNTHETIC INPUT (idc-qc synth): geometry faults were injected, not found in IDC data'
            if input_kind == 'synthetic' else '') }} as {{ dbt.type_string() }}) as notice
)

select * from final
