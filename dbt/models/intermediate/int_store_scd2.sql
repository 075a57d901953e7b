-- Store (selling location) history: the location is the natural key, market and
-- region are tracked, one observation per store and day (int_store_observations).
{%- set location = ['country', 'state', 'city', 'postal_code'] %}
with observations as (

    select * from {{ ref('int_store_observations') }}

),

versions as (

    {{ scd2_versions(
        observations='observations',
        natural_key='store_id',
        tracked=['market', 'region'],
    ) | indent(4) }}

),

locations as (

    select distinct store_id, {{ location | join(', ') }}
    from observations

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
