{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        on_schema_change=('ignore' if target.name == 'fakesnow' else 'fail'),
        post_hook="delete from {{ this }} where version_number is null",
    )
}}
-- Product history: a new version whenever category, sub-category or name changes.
-- Incremental runs recompute only the products whose versions the build's new
-- observations change (macros/scd2.sql: scd2_changed_keys), from all of their
-- observations, and replace those products' rows.
{%- set tracked = ['category', 'sub_category', 'product_name'] %}
with

{% if is_incremental() -%}
changed_keys as (

    {{ scd2_changed_keys(ref('int_product_observations'), 'product_id', tracked) | indent(4) }}

),

observations as (

    select * from {{ ref('int_product_observations') }}
    where product_id in (select product_id from changed_keys)

),
{%- else -%}
observations as (

    select * from {{ ref('int_product_observations') }}

),
{%- endif %}

versions as (

    {{ scd2_versions(
        observations='observations',
        natural_key='product_id',
        tracked=tracked,
        keys=('changed_keys' if is_incremental() else none),
    ) | indent(4) }}

)

select * from versions
