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

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by order_date desc, _event_time desc, order_id desc, row_id desc
        ) as recency,
        min(order_date) over (partition by customer_id) as first_order_date,
        max(order_date) over (partition by customer_id) as last_order_date
    from lines

)

select
    customer_id,
    customer_name,
    segment,
    first_order_date,
    last_order_date
from ranked
where recency = 1
