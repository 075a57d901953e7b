-- Product history: a new version whenever category, sub-category or name changes.
{{ scd2_versions(
    observations=ref('stg_products_from_sales'),
    natural_key='product_id',
    tracked=['category', 'sub_category', 'product_name'],
) }}
