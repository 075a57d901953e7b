-- Every fact key resolves to exactly one dimension row (no orphans), SCD2 keys point
-- at the version valid on the order date, and the joins did not fan lines out.
with orphans as (
    select 'customer_key' as fact_key, orphan_key as key_value, child_rows as fact_rows
    from ({{ dq_orphans(ref('fact_sales'), 'customer_key', ref('dim_customer'), 'customer_key') }}) as o
    union all
    select 'product_key', orphan_key, child_rows
    from ({{ dq_orphans(ref('fact_sales'), 'product_key', ref('dim_product'), 'product_key') }}) as o
    union all
    select 'store_key', orphan_key, child_rows
    from ({{ dq_orphans(ref('fact_sales'), 'store_key', ref('dim_store'), 'store_key') }}) as o
    union all
    select 'order_date_key', cast(orphan_key as {{ dbt.type_string() }}), child_rows
    from ({{ dq_orphans(ref('fact_sales'), 'order_date_key', ref('dim_date'), 'date_key') }}) as o
    union all
    select 'ship_date_key', cast(orphan_key as {{ dbt.type_string() }}), child_rows
    from ({{ dq_orphans(ref('fact_sales'), 'ship_date_key', ref('dim_date'), 'date_key') }}) as o
),

unresolved as (
    select 'unresolved_' || k as fact_key, null as key_value, count(*) as fact_rows
    from (
        select 'customer_key' as k from {{ ref('fact_sales') }} where customer_key is null
        union all select 'product_key' from {{ ref('fact_sales') }} where product_key is null
        union all select 'store_key' from {{ ref('fact_sales') }} where store_key is null
    ) as missing
    group by k
),

wrong_version as (
    select 'product_version' as fact_key, fact_key as key_value, count(*) as fact_rows
    from ({{ dq_point_in_time(ref('fact_sales'), 'product_key', ref('dim_product'), 'product_key', 'order_date') }}) as p
    group by fact_key
    union all
    select 'store_version', fact_key, count(*)
    from ({{ dq_point_in_time(ref('fact_sales'), 'store_key', ref('dim_store'), 'store_key', 'order_date') }}) as s
    group by fact_key
),

fan_out as (
    select 'fan_out' as fact_key, null as key_value, abs(f.n - u.n) as fact_rows
    from (select count(*) as n from {{ ref('fact_sales') }}) as f
    cross join (select count(*) as n from {{ ref('int_sales_unified') }}) as u
    where f.n <> u.n
)

select * from orphans
union all select * from unresolved
union all select * from wrong_version
union all select * from fan_out
