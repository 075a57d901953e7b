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
{% macro scd2_versions(observations, natural_key, tracked, observed_on='observed_on', keys=none) -%}
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
{%- if keys is not none %}
union all
-- a key of `keys` left without observations: a tombstone (null version), which the
-- model's post-hook deletes once the rows of its key are gone
select
    gone.{{ natural_key }}, null as version_number,
    {% for col in tracked %}null as {{ col }}, {% endfor -%}
    null as attribute_hash, null as first_seen_on, null as valid_from, null as valid_to,
    null as is_current
from {{ keys }} as gone
where not exists (select 1 from versions where versions.{{ natural_key }} = gone.{{ natural_key }})
{%- endif %}
{%- endmacro %}

{#- An SCD2 model's CTEs over `observations`: `observations` (what the build reads: on
    an incremental build, only the keys of `changed_keys`) and `versions`. -#}
{% macro scd2_history(observations, natural_key, tracked) -%}
{% if is_incremental() -%}
changed_keys as (

    {{ scd2_changed_keys(observations, natural_key, tracked) | indent(4) }}

),

observations as (

    select * from {{ observations }}
    where {{ natural_key }} in (select {{ natural_key }} from changed_keys)

),
{%- else -%}
observations as (

    select * from {{ observations }}

),
{%- endif %}

versions as (

    {{ scd2_versions(
        observations='observations',
        natural_key=natural_key,
        tracked=tracked,
        keys=('changed_keys' if is_incremental() else none),
    ) | indent(4) }}

)
{%- endmacro %}

{#- The keys whose versions an incremental build must recompute (delete+insert on the
    natural key), from `observations` and the versions the model holds ({{ this }}).

    Versions are the runs of equal tracked values in a key's observations, ordered by
    day. An observation this build wrote (its line is in the build's Silver scope)
    changes none of them when it carries the values of the version covering its day
    and is not dated before the key's first sighting: it then extends a run without
    starting or splitting one. Every other written observation marks its key: another
    value, an earlier first sighting, or a new key. Observations also go (a corrected
    line moves to another product or day; its day's row is deleted): a gone or changed
    day inside a run changes nothing, one that started a version does, so a version
    whose first observation is gone or differs marks its key too. Without a trusted
    scope, every key is recomputed. -#}
{% macro scd2_changed_keys(observations, natural_key, tracked, observed_on='observed_on') -%}
{%- set scope = silver_scope() -%}
{%- if scope is none %}
    select {{ natural_key }} from {{ observations }}
    union
    select {{ natural_key }} from {{ this }}
{%- else %}
    select observation.{{ natural_key }}
    from {{ observations }} as observation
    left join {{ this }} as version
        on version.{{ natural_key }} = observation.{{ natural_key }}
        and observation.{{ observed_on }} >= version.valid_from
        and observation.{{ observed_on }} < version.valid_to
    where ({{ scope }})
        and (
            version.{{ natural_key }} is null
            {%- for col in tracked %}
            or observation.{{ col }} is distinct from version.{{ col }}
            {%- endfor %}
            or (version.version_number = 1 and observation.{{ observed_on }} < version.first_seen_on)
        )
    union
    select version.{{ natural_key }}
    from {{ this }} as version
    left join {{ observations }} as observation
        on observation.{{ natural_key }} = version.{{ natural_key }}
        and observation.{{ observed_on }} = version.first_seen_on
    where observation.{{ natural_key }} is null
        {%- for col in tracked %}
        or observation.{{ col }} is distinct from version.{{ col }}
        {%- endfor %}
{%- endif %}
{%- endmacro %}
