{#- The columns of a Silver source, cast to the types its YAML declares. The YAML is
    generated from salespipe.contract, so models never spell the 24 fields out again.
    Output names are unquoted (upper case on Snowflake, as analysts type them); a source
    column marked `quote: true` (case-sensitive lower-case Iceberg names) is read quoted. -#}
{% macro silver_columns(table_name, except=[]) -%}
    {%- if execute -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'silver')
                | selectattr('name', 'equalto', table_name) | first -%}
        {%- set cols = [] -%}
        {%- for col in node.columns.values() if col.name not in except -%}
            {%- set name = adapter.quote(col.name) if col.quote else col.name -%}
            {%- do cols.append('cast(' ~ name ~ ' as ' ~ col.data_type ~ ') as ' ~ col.name) -%}
        {%- endfor -%}
        {{ cols | join(',\n    ') }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
