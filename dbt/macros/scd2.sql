{#- SCD Type 2 versions from dated attribute observations (one row per key and day).

    Consecutive observations with the same tracked values are one version (compared as
    key_text; only version rows are hashed, into attribute_hash = attribute_hash(tracked)); a new hash
    opens a version on the day it was first seen, and closes the previous one that day
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
        {{ key_text(tracked) }} as attribute_text
    from {{ observations }}

),

changes as (

    select
        *,
        lag(attribute_text) over (partition by {{ natural_key }} order by observed_on) as previous_text
    from observed

),

starts as (

    select *
    from changes
    where previous_text is null or previous_text <> attribute_text

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
    md5(attribute_text) as attribute_hash,
    observed_on as first_seen_on,
    case
        when version_number = 1 then cast('{{ var("scd2_start") }}' as date)
        else observed_on
    end as valid_from,
    coalesce(next_start, cast('{{ var("scd2_end") }}' as date)) as valid_to,
    next_start is null as is_current
from versions
{%- endmacro %}
