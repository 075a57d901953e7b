{#- SCD Type 2 versions from dated attribute observations (one row per key and day).

    Consecutive observations with equal tracked values are one version. They are
    compared by a 64-bit hash of those values (`hash()`, the same function on DuckDB
    and Snowflake): the window then carries one integer per observation instead of
    their text, which halves its cost. Two different values collide with probability
    2^-64 per comparison of one key's consecutive days. Only version rows get the
    published md5 (attribute_hash = attribute_hash(tracked)). A new value opens a
    version on the day it was first seen, and closes the previous one that day
    (valid_to is exclusive). The first version of a key is valid from `scd2_start`, not
    from its first sighting: a late line dated earlier then falls into it instead of
    re-keying history. The current version runs to `scd2_end`. A change back to an
    earlier value (A, B, A) is a third version, as it is in the source's history. -#}
{% macro scd2_versions(observations, natural_key, tracked, observed_on='observed_on') -%}
with observed as (

    select
        {{ natural_key }},
        {{ observed_on }} as observed_on,
        {{ tracked | join(',\n        ') }},
        hash({{ tracked | join(', ') }}) as change_hash
    from {{ observations }}

),

changes as (

    select
        *,
        lag(change_hash) over (partition by {{ natural_key }} order by observed_on) as previous_hash
    from observed

),

starts as (

    select *
    from changes
    where previous_hash is null or previous_hash <> change_hash

),

versions as (

    select
        *,
        row_number() over (partition by {{ natural_key }} order by observed_on) as version_number,
        lead(observed_on) over (partition by {{ natural_key }} order by observed_on) as next_start
    from starts

)

select
    {{ natural_key }},
    version_number,
    {{ tracked | join(',\n    ') }},
    {{ attribute_hash(tracked) }} as attribute_hash,
    observed_on as first_seen_on,
    case
        when version_number = 1 then cast('{{ var("scd2_start") }}' as date)
        else observed_on
    end as valid_from,
    coalesce(next_start, cast('{{ var("scd2_end") }}' as date)) as valid_to,
    next_start is null as is_current
from versions
{%- endmacro %}
