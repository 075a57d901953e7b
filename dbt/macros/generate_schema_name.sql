{#- Custom schemas are used as named (staging, gold) rather than prefixed with the
    target schema: the Gold schema is what analysts and the Snowflake grants name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
