-- Product attribute observations: one row per product and order date, the attributes
-- the latest line of that day carries (by precedence time). The SCD2 history is built
-- from these; nothing is invented beyond what the lines show.
with lines as (

    select
        product_id,
        order_date,
        category,
        sub_category,
        product_name,
        _event_time,
        order_id,
        row_id
    from {{ ref('stg_sales_silver') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id, order_date
            order by _event_time desc, order_id desc, row_id desc
        ) as recency
    from lines

)

select
    product_id,
    order_date as observed_on,
    category,
    sub_category,
    product_name
from ranked
where recency = 1
