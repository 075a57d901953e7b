-- Product attributes as each sales line shows them, dated by the line's order date,
-- with the line's precedence and lineage. Nothing is invented beyond what the lines
-- show; int_product_observations keeps the latest per product and day.
select
    product_id,
    order_date as observed_on,
    category,
    sub_category,
    product_name,
    {{ line_lineage() | join(',\n    ') }}
from {{ ref('stg_sales_silver') }}
