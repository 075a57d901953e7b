{#- Incremental helpers shared by the fact and the dimension models.

    Every incremental model keeps the Silver lineage (_ingested_at, _batch_id) of the
    lines it took in, so its own table is its watermark: nothing outside the model has
    to be kept in step with it. -#}

{#- What a model keeps of the line a row comes from: its precedence (_event_time, then
    the line key) and its Silver lineage, which is the model's watermark. -#}
{% macro line_lineage() -%}
    {{ return(['_event_time', 'order_id', 'row_id', '_ingested_at', '_batch_id']) }}
{%- endmacro %}

{#- Silver lines `state` has not taken in yet. Inside a build that follows a whole,
    passing one, that is the Silver runs fact_sales has not taken in (silver_scope):
    literals, so the scan skips every older Delta file. Otherwise it is the lines `state`
    itself has not seen: ingested after its watermark, or from a Silver run (_batch_id)
    missing from it (two runs can share a timestamp: Silver stamps to the second;
    corrections are re-stamped). Over-selecting is harmless (models weigh every line of
    a key they touch); missing a line is not. -#}
{% macro new_silver_lines(lines, state, scope='ask') -%}
    {%- set scope = silver_scope() if scope == 'ask' else scope -%}
    select *
    from {{ lines }}
    where {{ scope if scope is not none else newer_than(state) }}
{%- endmacro %}

{% macro newer_than(state) -%}
    (_ingested_at > (select max(_ingested_at) from {{ state }})
        or _batch_id not in (select distinct _batch_id from {{ state }}))
{%- endmacro %}

{#- The Silver runs (_batch_id) of `table` (sales, or sales_quarantine) that fact_sales
    had not taken in when this build started, as a predicate of literals; none when that
    cannot be trusted: no fact_sales or build ledger yet, the previous build did not
    cover the whole project and pass (then a model may have missed runs fact_sales
    took), or this invocation is not a ledgered build. fact_sales keeps every line, so
    its runs are complete, unlike a dimension's, which keeps one line per key.
    start_build computes it once per build into the ledger row (scope_for); each node
    reads it back with a one-row query. -#}
{% macro silver_scope(table='sales') -%}
    {%- if not execute or not scope_from_fact() -%}
        {{ return(none) }}
    {%- endif -%}
    {#- Read once per build and table, not once per node (a query costs a node ~10 ms
        of dbt's time), and kept in `graph`, the one object all nodes of an invocation
        share. With the manifest kept in-process, `graph` outlives the invocation, so
        the memo holds one invocation's answers and starts afresh for the next. -#}
    {%- set memo = graph.setdefault('salespipe_silver_scope', {}) -%}
    {%- if memo.get('invocation_id') != invocation_id -%}
        {%- do memo.clear() -%}
        {%- do memo.update({'invocation_id': invocation_id}) -%}
    {%- endif -%}
    {%- set memo_key = table ~ '_scope' -%}
    {%- if memo_key in memo -%}
        {{ return(memo[memo_key]) }}
    {%- endif -%}
    {%- set ledger = build_ledger() -%}
    {%- if adapter.get_relation(database=ledger.database, schema=ledger.schema, identifier=ledger.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select ' ~ table ~ "_scope from " ~ ledger ~ " where invocation_id = '" ~ invocation_id ~ "'"
    ).rows -%}
    {%- do memo.update({memo_key: rows[0][0] if rows else none}) -%}
    {{ return(memo[memo_key]) }}
{%- endmacro %}

{#- silver_scope's predicate, computed from Silver and fact_sales (start_build). -#}
{% macro scope_for(table) -%}
    {%- set fact = graph.nodes.get('model.' ~ project_name ~ '.fact_sales') -%}
    {%- set source = graph.sources.get('source.' ~ project_name ~ '.silver.' ~ table) -%}
    {%- set ledger = build_ledger() -%}
    {%- set fact_relation = adapter.get_relation(database=fact.database, schema=fact.schema, identifier=fact.alias) if fact else none -%}
    {%- if fact_relation is none or source is none
          or adapter.get_relation(database=ledger.database, schema=ledger.schema, identifier=ledger.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        with trusted as (
            select coalesce((select whole_project and passed from {{ ledger }}
                             where invocation_id <> '{{ invocation_id }}'
                             order by started_at desc limit 1), false) as ok
        ),
        {%- if table == 'sales' %}
        -- a run counts as taken only when fact_sales holds as many of its lines as
        -- Silver: a run that corrects known keys commits twice (MERGE, then append),
        -- and a build between the two sees part of it
        silver_runs as (
            select _batch_id, min(_ingested_at) as first_at, count(*) as lines
            from {{ source.relation_name }}
            group by _batch_id
        ),
        taken as (
            select _batch_id, count(*) as lines from {{ fact_relation }} group by _batch_id
        ),
        runs as (
            select silver_runs._batch_id, silver_runs.first_at
            from silver_runs left join taken on silver_runs._batch_id = taken._batch_id
            where taken.lines is null or taken.lines < silver_runs.lines
        )
        {%- else %}
        runs as (
            select _batch_id, min(_ingested_at) as first_at
            from {{ source.relation_name }}
            where _batch_id not in (select distinct _batch_id from {{ fact_relation }})
            group by _batch_id
        )
        {%- endif %}
        select trusted.ok, runs._batch_id, cast(runs.first_at as {{ dbt.type_string() }}) as first_at
        from trusted left join runs on 1 = 1
        order by runs.first_at
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if not rows[0][0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set runs = [] -%}
    {%- for row in rows if row[1] is not none -%}
        {%- do runs.append(row) -%}
    {%- endfor -%}
    {%- if not runs -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {%- set ids = [] -%}
    {%- for run in runs -%}
        {%- do ids.append("'" ~ (run[1] | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return("(_ingested_at >= cast('" ~ runs[0][2] ~ "' as timestamp with time zone) and _batch_id in (" ~ ids | join(', ') ~ "))") }}
{%- endmacro %}

{#- Whether silver_scope may ask the database; dbt unit tests override it to false,
    since their given rows are not in the database it would ask. -#}
{% macro scope_from_fact() -%}
    {{ return(true) }}
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

{#- Incremental candidates of a model that keeps, per key, the latest of Silver's lines.

    A key touched only by new lines needs no history: its latest line is the greater of
    the line the model kept for it and its new lines, so those are the candidates
    (`restated` maps a precedence column to the model column that holds it for the kept
    row, e.g. a customer's order_date is its last_order_date). Only a key whose kept
    line was re-delivered (a correction may have moved it to another key) is recomputed
    from every line Silver holds for it. Returns CTEs `changed` (new lines), `affected`
    (their keys and the re-delivered ones), `redelivered`, `candidates` (key, kept and
    precedence columns) and `vanished` (re-delivered keys left without a line). -#}
{% macro incremental_candidates(lines, key, kept, precedence, restated={}, line_key=['order_id', 'row_id']) -%}
{%- set columns = key + kept + (precedence | reject('in', kept) | list) -%}
{%- set scope = silver_scope() -%}
changed as (

    {{ new_silver_lines(lines, this, scope) | indent(4) }}

),

redelivered as (

    select distinct {% for col in key %}kept.{{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ this }} as kept
    join changed on {% for col in line_key %}kept.{{ col }} = changed.{{ col }}{% if not loop.last %} and {% endif %}{% endfor %}

),

affected as (

    select {{ key | join(', ') }} from changed
    union
    select {{ key | join(', ') }} from redelivered

),

candidates as (

    {% if any_redelivered(this, scope, line_key) -%}
    -- every line of a re-delivered key
    select {{ columns | join(', ') }}
    from {{ lines }} as line
    where exists (select 1 from redelivered where {{ same_key(key, 'redelivered', 'line') }})
    union all
    {% endif -%}
    -- the new lines of the other keys ...
    select {{ columns | join(', ') }}
    from changed
    where not exists (select 1 from redelivered where {{ same_key(key, 'redelivered', 'changed') }})
    union all
    -- ... weighed against the line the model kept for each of them
    select {% for col in columns %}{{ restated.get(col, col) }} as {{ col }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ this }} as kept
    where exists (select 1 from changed where {{ same_key(key, 'changed', 'kept') }})
      and not exists (select 1 from redelivered where {{ same_key(key, 'redelivered', 'kept') }})

),

vanished as (

    -- re-delivered keys with no line left (all moved away): merged as tombstones with
    -- a null line key, then deleted by the model's post-hook
    select {{ key | join(', ') }} from redelivered
    except
    select {{ key | join(', ') }} from candidates

)
{%- endmacro %}


{#- CTEs ending in `latest`: per key, the `kept` columns of the line with the greatest
    `precedence`. A full build reduces every line; an incremental one only the
    candidates of the affected keys (incremental_candidates), with a tombstone (null
    kept columns) for a key left without lines, which the model's post-hook deletes
    after the merge. -#}
{% macro latest_lines(lines, key, kept, precedence, restated={}) -%}
{% if is_incremental() %}
{{ incremental_candidates(lines, key, kept, precedence, restated) }},

latest as (

    {{ latest_per_key('candidates', key, kept, precedence) | indent(4) }}
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

{#- NULL-safe equality of two relations' key columns. -#}
{% macro same_key(key, left, right) -%}
    {%- for col in key %}{{ left }}.{{ col }} is not distinct from {{ right }}.{{ col }}{% if not loop.last %} and {% endif %}{% endfor -%}
{%- endmacro %}

{#- Whether any new line re-delivers a line the model kept, asked before the model's
    query so that, as usual, the scan of every line for re-delivered keys is left out
    (a semi-join with an empty side still reads the whole probe side). True whenever it
    cannot be asked cheaply (no trusted Silver scope, or a unit test). -#}
{% macro any_redelivered(state, scope, line_key) -%}
    {%- if scope is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set silver = graph.sources['source.' ~ project_name ~ '.silver.sales'] -%}
    {#- a plain join, not `exists`: DuckDB then hashes the few new lines and probes the
        kept rows once, instead of de-correlating over every kept key -#}
    {%- set query -%}
        select count(*)
        from {{ state }} as kept
        join (
            select {{ line_key | join(', ') }} from {{ silver.relation_name }} where {{ scope }}
        ) as line
        on {% for col in line_key %}line.{{ col }} = kept.{{ col }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endset -%}
    {{ return(run_query(query).rows[0][0] > 0) }}
{%- endmacro %}
