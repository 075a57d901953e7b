-- Product history: a new version whenever category, sub-category or name changes.
{{ scd2_versions(
    observations=ref('int_product_observations'),
    natural_key='product_id',
    tracked=['category', 'sub_category', 'product_name'],
) }}
