{{
    config(
        materialized='incremental',
        unique_key=['store_id', 'observed_on'],
        incremental_strategy='merge',
        post_hook="delete from {{ this }} where order_id is null",
    )
}}
-- One observation per selling location (country, state, city, postal_code) and order
-- date: the market and region the day's latest line carries (by precedence time, then
-- line key), and that line's key and lineage. Incremental runs recompute only the
-- store-days that new Silver lines touch (see macros/incremental.sql).
{%- set location = ['country', 'state', 'city', 'postal_code'] %}
{%- set key = location + ['observed_on'] %}
{%- set kept = ['market', 'region'] + line_lineage() %}
with lines as (

    select
        {{ location | join(', ') }},
        order_date as observed_on,
        {{ kept | join(', ') }}
    from {{ ref('int_sales_unified') }}

),

{{ latest_lines('lines', key, kept, ['_event_time', 'order_id', 'row_id']) }}

-- hash the location only after reducing to one row per store and day
select
    {{ surrogate_key(location) }} as store_id,
    latest.*
from latest
