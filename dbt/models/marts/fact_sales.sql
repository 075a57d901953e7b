{{
    config(
        materialized='incremental',
        unique_key=['order_id', 'row_id'],
        incremental_strategy='merge',
        cluster_by=['order_date', 'customer_key'],
    )
}}
-- One row per Silver order line. Dimension keys are point-in-time: the product and
-- store versions valid on the order date, not the current ones.
--
-- Incremental runs merge (on the line key) only:
--   * lines Silver wrote after the last run (macros/incremental.sql: new_silver_lines);
--   * existing facts whose dimension version no longer covers their order date (a
--     late observation split a version), so no fact keeps a stale key.
-- _gold_run_id names the dbt invocation that last wrote a row: the tests of an
-- incremental build check the rows it wrote (macros/test_scope.sql).
with

{% if is_incremental() %}
{%- set stale_facts -%}
    select f.order_id, f.row_id
    from {{ this }} as f
    left join {{ ref('dim_product') }} as p
        on f.product_key = p.product_key
        and f.order_date >= p.valid_from and f.order_date < p.valid_to
    left join {{ ref('dim_store') }} as s
        on f.store_key = s.store_key
        and f.order_date >= s.valid_from and f.order_date < s.valid_to
    where p.product_key is null or s.store_key is null
{%- endset %}
{#- asked first, so that the usual build (no version moved) reads only the new lines'
    Delta files, not every line to join with an empty set of stale keys -#}
{%- set any_stale = not execute or run_query('select count(*) from (' ~ stale_facts ~ ') as stale').rows[0][0] > 0 %}
changed as (

    select *
    from ({{ new_silver_lines(ref('int_sales_unified'), this) }}) as new_lines
    {%- if any_stale %}

    union

    select u.*
    from {{ ref('int_sales_unified') }} as u
    join ({{ stale_facts }}) as stale on u.order_id = stale.order_id and u.row_id = stale.row_id
    {%- endif %}

),
{% endif %}

lines as (

    select
        *,
        {{ surrogate_key(['country', 'state', 'city', 'postal_code']) }} as store_id
    {% if is_incremental() %}
    from changed
    {% else %}
    from {{ ref('int_sales_unified') }}
    {% endif %}

)

select
    {{ surrogate_key(['lines.order_id', 'lines.row_id']) }} as sales_key,
    lines.order_id,
    lines.row_id,
    {{ date_key('lines.order_date') }} as order_date_key,
    case when lines.ship_date is not null then {{ date_key('lines.ship_date') }} end as ship_date_key,
    c.customer_key,
    p.product_key,
    s.store_key,
    lines.order_date,
    lines.ship_date,
    lines.ship_mode,
    lines.order_priority,
    lines.quantity,
    lines.sales,
    lines.discount,
    lines.profit,
    lines.shipping_cost,
    lines.source_system,
    lines._event_time,
    lines._ingested_at,
    lines._batch_id,
    '{{ invocation_id }}' as _gold_run_id
from lines
left join {{ ref('dim_customer') }} as c
    on lines.customer_id = c.customer_id
left join {{ ref('dim_product') }} as p
    on lines.product_id = p.product_id
    and lines.order_date >= p.valid_from and lines.order_date < p.valid_to
left join {{ ref('dim_store') }} as s
    on lines.store_id = s.store_id
    and lines.order_date >= s.valid_from and lines.order_date < s.valid_to
