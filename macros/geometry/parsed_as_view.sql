{# Whether int_instances__geometry_parsed is a view (the input is series by series already:
   dbt var instances_series_ordered, which `idc-qc build` sets from the files; DuckDB only) or a
   table written series by series. Its readers that want only a few series' instances
   (int_instances__slice_positions, the converter model's dicom2nifti pass) parse those from
   int_instances__slices themselves when it is a view (a join before the parsing, as the view
   cannot be filtered before it parses), and read the table when it is one. #}
{% macro instances_parsed_as_view() %}
{{- return(var('instances_series_ordered', false) and target.type == 'duckdb') -}}
{% endmacro %}
