-- Customers (type 1): the latest attributes seen on their lines.
select
    {{ surrogate_key(['customer_id']) }} as customer_key,
    customer_id,
    customer_name,
    segment,
    first_order_date,
    last_order_date
from {{ ref('stg_customers_from_sales') }}
