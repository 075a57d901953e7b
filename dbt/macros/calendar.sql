{#- Calendar helpers. Integer date keys (yyyymmdd) read the same on every target;
    ISO weekday and week numbers differ in name between engines, so they dispatch. -#}
{% macro date_key(expr) -%}
    cast(extract(year from {{ expr }}) * 10000 + extract(month from {{ expr }}) * 100 + extract(day from {{ expr }}) as integer)
{%- endmacro %}

{% macro iso_day_of_week(expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(expr)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(expr) -%}isodow({{ expr }}){%- endmacro %}
{% macro snowflake__iso_day_of_week(expr) -%}dayofweekiso({{ expr }}){%- endmacro %}

{% macro iso_week(expr) -%}
    {{ return(adapter.dispatch('iso_week')(expr)) }}
{%- endmacro %}
{% macro default__iso_week(expr) -%}weekofyear({{ expr }}){%- endmacro %}
{% macro snowflake__iso_week(expr) -%}weekiso({{ expr }}){%- endmacro %}
