{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}
-- A day spine from the earliest to the latest order or ship date, with calendar
-- attributes. Month and day names come from numbers so every target spells them alike.
-- Incremental runs only extend it: the bounds are those of the days it already holds
-- and of the new Silver lines (macros/incremental.sql), and only missing days are
-- appended. A spine is never cut short, so a fact date key always resolves; a full
-- refresh recomputes it from every line.
{%- set lines = ref('int_sales_unified') %}
{%- set scope = silver_scope() if is_incremental() else none %}
{%- if scope is not none %}
    {%- set lines = '(' ~ new_silver_lines(lines, none, scope) ~ ') as new_lines' %}
{%- endif %}
{#- one pass over the lines (each pass is a scan of Silver); order_date is never null -#}
{%- set bounds %}
    select min(first_day) as first_day, max(last_day) as last_day from (
        select
            least(order_date, coalesce(ship_date, order_date)) as first_day,
            greatest(order_date, coalesce(ship_date, order_date)) as last_day
        from {{ lines }}
        {%- if is_incremental() %}
        union all
        select date_day, date_day from {{ this }}
        {%- endif %}
    ) as dates
{%- endset %}
{%- set first_day, last_day = "cast('2000-01-01' as date)", "cast('2000-01-02' as date)" %}
{%- if execute %}
    {%- set row = run_query(bounds).rows[0] %}
    {%- if row[0] is not none %}
        {%- set first_day = "cast('" ~ row[0] ~ "' as date)" %}
        {%- set last_day = dbt.dateadd('day', 1, "cast('" ~ row[1] ~ "' as date)") %}
    {%- endif %}
{%- endif %}
with spine as (

    {{ dbt.date_spine('day', first_day, last_day) | indent(4) }}

),

days as (

    select cast(date_day as date) as date_day from spine
    {%- if is_incremental() %}
    where cast(date_day as date) not in (select date_day from {{ this }})
    {%- endif %}

)

select
    {{ date_key('date_day') }} as date_key,
    date_day,
    cast(extract(year from date_day) as integer) as year,
    cast(extract(quarter from date_day) as integer) as quarter,
    cast(extract(month from date_day) as integer) as month,
    case cast(extract(month from date_day) as integer)
        {%- for name in ['January', 'February', 'March', 'April', 'May', 'June', 'July',
                         'August', 'September', 'October', 'November', 'December'] %}
        when {{ loop.index }} then '{{ name }}'
        {%- endfor %}
    end as month_name,
    cast(extract(day from date_day) as integer) as day_of_month,
    cast({{ iso_day_of_week('date_day') }} as integer) as day_of_week,
    case cast({{ iso_day_of_week('date_day') }} as integer)
        {%- for name in ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] %}
        when {{ loop.index }} then '{{ name }}'
        {%- endfor %}
    end as day_name,
    cast({{ iso_week('date_day') }} as integer) as iso_week,
    cast({{ iso_day_of_week('date_day') }} as integer) >= 6 as is_weekend,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as first_day_of_month,
    cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as first_day_of_quarter
from days
