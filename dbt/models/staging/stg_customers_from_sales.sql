-- Customers as each sales line names them, with the line's order date, precedence and
-- lineage. dim_customer keeps one row per customer (type 1: the latest line wins).
select
    customer_id,
    customer_name,
    segment,
    order_date,
    {{ line_lineage() | join(',\n    ') }}
from {{ ref('stg_sales_silver') }}
