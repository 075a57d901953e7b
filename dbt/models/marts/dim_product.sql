-- Products, SCD Type 2: one row per product version.
select
    {{ surrogate_key(['product_id', 'valid_from']) }} as product_key,
    product_id,
    version_number,
    category,
    sub_category,
    product_name,
    attribute_hash,
    first_seen_on,
    valid_from,
    valid_to,
    is_current
from {{ ref('int_product_scd2') }}
