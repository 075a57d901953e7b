{#- Incremental helpers shared by the fact and the dimension models.

    Every incremental model keeps the Silver lineage (_ingested_at, _batch_id) of the
    lines it took in, so its own table is its watermark: nothing outside the model has
    to be kept in step with it. -#}

{#- What a model keeps of the line a row comes from: its precedence (_event_time, then
    the line key) and its Silver lineage, which is the model's watermark. -#}
{% macro line_lineage() -%}
    {{ return(['_event_time', 'order_id', 'row_id', '_ingested_at', '_batch_id']) }}
{%- endmacro %}

{#- Silver lines `state` has not taken in yet: ingested after its watermark, or from a
    Silver run (_batch_id) it has not seen (two runs can share a timestamp: Silver stamps
    to the second; corrections are re-stamped by Silver). Over-selecting is harmless
    (models recompute the keys it touches from all lines); missing a line is not. -#}
{% macro new_silver_lines(lines, state) -%}
    select *
    from {{ lines }}
    where {{ newer_than(state) }}
{%- endmacro %}

{% macro newer_than(state) -%}
    (_ingested_at > (select max(_ingested_at) from {{ state }})
        or _batch_id not in (select distinct _batch_id from {{ state }}))
{%- endmacro %}

{#- The row of each key whose `order_by` columns are greatest (latest wins), with
    `columns` taken from that one row. DuckDB computes it as a hash aggregate with
    arg_max over the ordering tuple, several times cheaper than sorting every partition
    for row_number(); other engines use the window. Keys are NULL-safe (grouped). -#}
{% macro latest_per_key(relation, key, columns, order_by) -%}
    {{ return(adapter.dispatch('latest_per_key')(relation, key, columns, order_by)) }}
{%- endmacro %}

{% macro default__latest_per_key(relation, key, columns, order_by) -%}
    select {{ (key + columns) | join(', ') }}
    from {{ relation }}
    qualify row_number() over (
        partition by {{ key | join(', ') }}
        order by {% for col in order_by %}{{ col }} desc{% if not loop.last %}, {% endif %}{% endfor %}
    ) = 1
{%- endmacro %}

{% macro duckdb__latest_per_key(relation, key, columns, order_by) -%}
    select {{ key | join(', ') }}{% for col in columns %}, latest.{{ col }}{% endfor %}
    from (
        select
            {{ key | join(', ') }},
            arg_max(
                struct_pack({% for col in columns %}{{ col }} := {{ col }}{% if not loop.last %}, {% endif %}{% endfor %}),
                row({{ order_by | join(', ') }})
            ) as latest
        from {{ relation }}
        group by {{ key | join(', ') }}
    ) as per_key
{%- endmacro %}

{#- Incremental scope of a model that keeps, per key, the latest of Silver's lines:
    the keys to recompute are those of new lines, plus those whose kept line was
    re-delivered (a correction may have moved it to another key). Returns CTEs
    `changed`, `affected` and `scoped` (every current line of an affected key). -#}
{% macro affected_lines(lines, key, line_key=['order_id', 'row_id']) -%}
changed as (

    {{ new_silver_lines(lines, this) | indent(4) }}

),

affected as (

    select {{ key | join(', ') }} from changed
    union
    select {% for col in key %}kept.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ this }} as kept
    join changed on {% for col in line_key %}kept.{{ col }} = changed.{{ col }}{% if not loop.last %} and {% endif %}{% endfor %}

),

scoped as (

    select * from {{ lines }} as line
    where exists (
        select 1 from affected
        where {% for col in key %}affected.{{ col }} is not distinct from line.{{ col }}{% if not loop.last %}
            and {% endif %}{% endfor %}
    )

),

vanished as (

    -- affected keys with no line left (all moved away): merged as tombstones with a
    -- null line key, then deleted by the model's post-hook
    select {{ key | join(', ') }} from affected
    except
    select {{ key | join(', ') }} from scoped

)
{%- endmacro %}


{#- CTEs ending in `latest`: per key, the `kept` columns of the line with the greatest
    `precedence`. A full build reduces every line; an incremental one only the affected
    keys (affected_lines), with a tombstone (null kept columns) for a key left without
    lines, which the model's post-hook deletes after the merge. -#}
{% macro latest_lines(lines, key, kept, precedence) -%}
{% if is_incremental() %}
{{ affected_lines(lines, key) }},

latest as (

    {{ latest_per_key('scoped', key, kept, precedence) | indent(4) }}
    union all
    select {{ key | join(', ') }}{% for col in kept %}, null as {{ col }}{% endfor %}
    from vanished

)
{% else %}
latest as (

    {{ latest_per_key(lines, key, kept, precedence) | indent(4) }}

)
{% endif %}
{%- endmacro %}
