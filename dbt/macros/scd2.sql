{#- SCD Type 2 versions from dated attribute observations (one row per key and day).

    Consecutive observations with equal tracked values are one version. They are
    compared by a 64-bit hash of those values (`hash()`, the same function on DuckDB
    and Snowflake), so the window sorts and carries the key, the day and one integer
    per observation, and the values themselves are joined back for the version rows
    alone: a third of the cost of windowing their text. Two different values collide
    with probability 2^-64 per comparison of one key's consecutive days. Only version
    rows get the published md5 (attribute_hash = attribute_hash(tracked)). A new value
    opens a version on the day it was first seen, and closes the previous one that day
    (valid_to is exclusive). The first version of a key is valid from `scd2_start`, not
    from its first sighting: a late line dated earlier then falls into it instead of
    re-keying history. The current version runs to `scd2_end`. A change back to an
    earlier value (A, B, A) is a third version, as it is in the source's history. -#}
{% macro scd2_versions(observations, natural_key, tracked, observed_on='observed_on') -%}
{%- set observed_values = [] -%}
{%- for col in tracked %}{% do observed_values.append('observation.' ~ col) %}{% endfor -%}
with changes as (

    -- narrow on purpose: the window sorts and carries only the key, the day and one
    -- integer per observation; the attributes are fetched for version rows alone
    select
        {{ natural_key }},
        {{ observed_on }} as observed_on,
        change_hash,
        lag(change_hash) over (partition by {{ natural_key }} order by {{ observed_on }}) as previous_hash
    from (
        select {{ natural_key }}, {{ observed_on }}, hash({{ tracked | join(', ') }}) as change_hash
        from {{ observations }}
    ) as observed

),

starts as (

    select {{ natural_key }}, observed_on
    from changes
    where previous_hash is null or previous_hash <> change_hash

),

versions as (

    select
        {{ natural_key }},
        observed_on,
        row_number() over (partition by {{ natural_key }} order by observed_on) as version_number,
        lead(observed_on) over (partition by {{ natural_key }} order by observed_on) as next_start
    from starts

)

select
    versions.{{ natural_key }},
    versions.version_number,
    {% for col in tracked %}observation.{{ col }},
    {% endfor -%}
    {{ attribute_hash(observed_values) }} as attribute_hash,
    versions.observed_on as first_seen_on,
    case
        when versions.version_number = 1 then cast('{{ var("scd2_start") }}' as date)
        else versions.observed_on
    end as valid_from,
    coalesce(versions.next_start, cast('{{ var("scd2_end") }}' as date)) as valid_to,
    versions.next_start is null as is_current
from versions
join {{ observations }} as observation
    on observation.{{ natural_key }} = versions.{{ natural_key }}
    and observation.{{ observed_on }} = versions.observed_on
{%- endmacro %}
