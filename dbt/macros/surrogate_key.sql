{#- A surrogate key: md5 over the given expressions, NULL-safe and separator-delimited
    so that ('a', 'bc') and ('ab', 'c') differ. Same text on DuckDB and Snowflake, so a
    key computed on one target matches the other. -#}
{% macro surrogate_key(expressions) -%}
    md5(
    {%- for expr in expressions %}
        coalesce(cast({{ expr }} as {{ dbt.type_string() }}), '~null~'){% if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
    )
{%- endmacro %}

{#- The hash of an SCD2 version's tracked attributes: a change in any of them opens a
    new version; equal hashes on consecutive observations are the same version. -#}
{% macro attribute_hash(columns) -%}
    {{ surrogate_key(columns) }}
{%- endmacro %}
