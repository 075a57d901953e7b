{#- A view over int_store_scd2, for the reason dim_product is one. -#}
{{ config(materialized='view') }}
-- Selling locations, SCD Type 2 on market and region.
select
    {{ surrogate_key(['store_id', 'valid_from']) }} as store_key,
    store_id,
    version_number,
    country,
    state,
    city,
    postal_code,
    market,
    region,
    attribute_hash,
    first_seen_on,
    valid_from,
    valid_to,
    is_current
from {{ ref('int_store_scd2') }}
