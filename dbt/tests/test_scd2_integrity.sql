-- SCD2 dimensions: per natural key, ranges neither overlap nor leave gaps, the first
-- starts at scd2_start, and exactly one open-ended current version exists.
select 'dim_product' as dimension, 'range' as rule, cast(natural_key as {{ dbt.type_string() }}) as natural_key, problem
from ({{ dq_scd2_ranges(ref('dim_product'), 'product_id') }}) as r
union all
select 'dim_store', 'range', natural_key, problem
from ({{ dq_scd2_ranges(ref('dim_store'), 'store_id') }}) as r
union all
select 'dim_product', 'current', natural_key, 'current_rows=' || cast(current_rows as {{ dbt.type_string() }})
from ({{ dq_scd2_current(ref('dim_product'), 'product_id') }}) as c
union all
select 'dim_store', 'current', natural_key, 'current_rows=' || cast(current_rows as {{ dbt.type_string() }})
from ({{ dq_scd2_current(ref('dim_store'), 'store_id') }}) as c
union all
select dimension, 'start', natural_key, 'first version does not start at scd2_start'
from (
    select 'dim_product' as dimension, product_id as natural_key, min(valid_from) as first_from
    from {{ ref('dim_product') }} group by product_id
    union all
    select 'dim_store', store_id, min(valid_from) from {{ ref('dim_store') }} group by store_id
) as s
where first_from <> cast('{{ var("scd2_start") }}' as date)
