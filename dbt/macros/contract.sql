{#- The columns of a Silver source, cast to the types its YAML declares. The YAML is
    generated from salespipe.contract, so models never spell the 24 fields out again. -#}
{% macro silver_columns(table_name, except=[]) -%}
    {%- if execute -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'silver')
                | selectattr('name', 'equalto', table_name) | first -%}
        {%- set cols = [] -%}
        {%- for col in node.columns.values() if col.name not in except -%}
            {%- do cols.append('cast(' ~ adapter.quote(col.name) ~ ' as ' ~ col.data_type ~ ') as ' ~ adapter.quote(col.name)) -%}
        {%- endfor -%}
        {{ cols | join(',\n    ') }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
