{#- The text a surrogate key hashes: the expressions cast to text, NULL-safe and
    separator-delimited so that ('a', 'bc') and ('ab', 'c') differ. Comparing this text
    is as good as comparing the hashes, and cheaper when most rows are thrown away. -#}
{% macro key_text(expressions) -%}
    {%- for expr in expressions %}
        coalesce(cast({{ expr }} as {{ dbt.type_string() }}), '~null~'){% if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- A surrogate key: md5 of key_text. Same text on DuckDB and Snowflake, so a key
    computed on one target matches the other. -#}
{% macro surrogate_key(expressions) -%}
    md5({{ key_text(expressions) }})
{%- endmacro %}

{#- The hash of an SCD2 version's tracked attributes: a change in any of them opens a
    new version; equal hashes on consecutive observations are the same version. -#}
{% macro attribute_hash(columns) -%}
    {{ surrogate_key(columns) }}
{%- endmacro %}
