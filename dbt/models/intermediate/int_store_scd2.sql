{{
    config(
        materialized='incremental',
        unique_key='store_id',
        incremental_strategy='delete+insert',
        post_hook="delete from {{ this }} where version_number is null",
    )
}}
-- Store (selling location) history: the location is the natural key, market and
-- region are tracked, one observation per store and day (int_store_observations).
-- Incremental like int_product_scd2: only the stores whose versions change.
{%- set location = ['country', 'state', 'city', 'postal_code'] %}
{%- set tracked = ['market', 'region'] %}
with

{{ scd2_history(ref('int_store_observations'), 'store_id', tracked) }},

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
-- left: a tombstone's store has no observations left, hence no location
left join locations on versions.store_id = locations.store_id
