{{
    config(
        materialized='incremental',
        unique_key=['product_id', 'observed_on'],
        incremental_strategy='merge',
        post_hook="delete from {{ this }} where order_id is null",
    )
}}
-- One product attribute observation per product and order date: the attributes the
-- day's latest line carries (by precedence time, then line key), and that line's key
-- and lineage. Incremental runs recompute only the product-days that new Silver lines
-- touch (see macros/incremental.sql); the SCD2 history is built from these rows.
{%- set key = ['product_id', 'observed_on'] %}
{%- set kept = ['category', 'sub_category', 'product_name'] + line_lineage() %}
with lines as (

    select * from {{ ref('stg_products_from_sales') }}

),

{{ latest_lines('lines', key, kept, ['_event_time', 'order_id', 'row_id']) }}

select * from latest
