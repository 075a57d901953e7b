-- Store (selling location) history: the location is the natural key, market and
-- region are tracked. One observation per store and day: the latest line's values.
{%- set location = ['country', 'state', 'city', 'postal_code'] %}
with lines as (

    select
        {{ location | join(', ') }},
        market,
        region,
        order_date,
        _event_time,
        order_id,
        row_id
    from {{ ref('int_sales_unified') }}

),

daily as (

    -- hash the location only after reducing to one row per store and day
    select
        {{ surrogate_key(location) }} as store_id,
        {{ location | join(', ') }},
        order_date as observed_on,
        market,
        region
    from lines
    qualify row_number() over (
        partition by {{ location | join(', ') }}, order_date
        order by _event_time desc, order_id desc, row_id desc
    ) = 1

),

versions as (

    {{ scd2_versions(
        observations='daily',
        natural_key='store_id',
        tracked=['market', 'region'],
    ) | indent(4) }}

),

locations as (

    select distinct store_id, {{ location | join(', ') }}
    from daily

)

select
    versions.store_id,
    {% for col in location %}locations.{{ col }},
    {% endfor -%}
    versions.version_number,
    versions.market,
    versions.region,
    versions.attribute_hash,
    versions.first_seen_on,
    versions.valid_from,
    versions.valid_to,
    versions.is_current
from versions
join locations on versions.store_id = locations.store_id
