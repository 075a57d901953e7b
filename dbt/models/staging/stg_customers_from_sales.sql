-- Customers as the sales lines name them: one row per customer, the attributes of
-- their latest line (by order date, then precedence time). Customers are type 1:
-- a rename or segment change overwrites, history lives on the fact lines.
with lines as (

    select
        customer_id,
        customer_name,
        segment,
        order_date,
        _event_time,
        order_id,
        row_id
    from {{ ref('stg_sales_silver') }}

),

latest as (

    select customer_id, customer_name, segment
    from lines
    qualify row_number() over (
        partition by customer_id
        order by order_date desc, _event_time desc, order_id desc, row_id desc
    ) = 1

),

span as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from lines
    group by customer_id

)

select
    latest.customer_id,
    latest.customer_name,
    latest.segment,
    span.first_order_date,
    span.last_order_date
from latest
join span on latest.customer_id = span.customer_id
