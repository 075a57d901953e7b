{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        post_hook="delete from {{ this }} where version_number is null",
    )
}}
-- Product history: a new version whenever category, sub-category or name changes.
-- Incremental runs recompute only the products whose versions the build's new
-- observations change (macros/scd2.sql: scd2_changed_keys), from all of their
-- observations, and replace those products' rows.
{%- set tracked = ['category', 'sub_category', 'product_name'] %}
with

{{ scd2_history(ref('int_product_observations'), 'product_id', tracked) }}

select * from versions
