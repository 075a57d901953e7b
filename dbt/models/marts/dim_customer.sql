{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        post_hook="delete from {{ this }} where order_id is null",
    )
}}
-- Customers (type 1): the attributes of their latest line (by order date, then
-- precedence time, then line key), and the span of their order dates. A rename or
-- segment change overwrites; history lives on the fact lines. Incremental runs touch
-- only the customers that new Silver lines name: their latest line is the kept one or
-- a new one (macros/incremental.sql; the kept line's order date is last_order_date),
-- and their span is recomputed from their order dates alone, since a correction of
-- any line may have moved the first one. order_id, row_id and the lineage are those
-- of the line the attributes come from.
{%- set key = ['customer_id'] %}
{%- set kept = ['customer_name', 'segment'] + line_lineage() %}
{#- the view itself, not a CTE over it: read twice (new lines, span), a CTE would be
    materialized whole before the new lines' filter could skip any Delta file -#}
{%- set lines = ref('stg_customers_from_sales') %}
with

{{ latest_lines(lines, key, kept, ['order_date', '_event_time', 'order_id', 'row_id'],
                restated={'order_date': 'last_order_date'}) }},

span as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from {{ lines }} as line
    {%- if is_incremental() %}
    where exists (select 1 from affected where affected.customer_id = line.customer_id)
    {%- endif %}
    group by customer_id

)

select
    {{ surrogate_key(['latest.customer_id']) }} as customer_key,
    latest.customer_id,
    latest.customer_name,
    latest.segment,
    span.first_order_date,
    span.last_order_date,
    {% for col in line_lineage() %}latest.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
from latest
left join span on latest.customer_id = span.customer_id
