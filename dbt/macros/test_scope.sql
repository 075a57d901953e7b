{#- Tests of an incremental build check what the build changed, not all of history.

    A model or source opts in with `meta: {test_scope: ...}`:
      * `silver_lines`: Silver lines (and views over them) are tested where they are
        newer than what fact_sales had taken in before this build (macros/incremental.sql);
        these tests run before fact_sales is merged, which dbt build's order guarantees
        (a node's tests finish before its descendants start). So are the observation
        tables, whose rows keep the lineage of the line they come from: the rows this
        build wrote are those of new lines (a merge on the model's key, tested whole
        on a full refresh, keeps the others unique).
      * `this_run`: fact rows are tested where this invocation wrote them
        (_gold_run_id), including facts re-keyed to a moved SCD2 version.
    Scoping applies only when the previous build covered the whole project and passed
    every test (the build ledger, gold.build_ledger); otherwise, and on a full refresh or
    a first build, every row is tested, so rows a failed build left behind are tested
    again by the next one. Tests that compare whole tables (reconciliation, integrity,
    SCD2 ranges) take their relations with ref() and are never scoped. -#}

{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set predicates = [where] if where else [] -%}
    {%- set scope = test_scope_predicate() -%}
    {%- if scope -%}
        {%- do predicates.append(scope) -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ predicates | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The scope as a predicate, or none to test every row. The ledger is read by the
    query itself (one scalar subquery), not by a round trip per test. -#}
{% macro test_scope_predicate() -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {#- a test on a model names it as attached_node; one on a source only depends on it -#}
    {%- set parents = model.depends_on.nodes -%}
    {%- set tested_id = model.attached_node or (parents[0] if parents | length == 1 else none) -%}
    {%- set tested = graph.nodes.get(tested_id) or graph.sources.get(tested_id) if tested_id else none -%}
    {%- set scope = tested.get('config', {}).get('meta', {}).get('test_scope') if tested else none -%}
    {%- if scope == 'silver_lines' -%}
        {#- literals of the Silver runs fact_sales has not taken in (macros/incremental.sql) -#}
        {{ return(silver_scope('sales_quarantine' if tested.get('name') == 'sales_quarantine' and tested.get('resource_type') == 'source' else 'sales')) }}
    {%- endif -%}
    {%- if scope != 'this_run' -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the rows this build wrote, when its Silver scope is trusted (the same decision,
        made once at on-run-start: a whole previous build that passed); else every row -#}
    {{ return(none if silver_scope() is none else "_gold_run_id = '" ~ invocation_id ~ "'") }}
{%- endmacro %}

{#- The build ledger: one row per `dbt build` (start_build, finish_build). -#}
{% macro build_ledger() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name(var('gold_schema', 'gold'), none),
        identifier='build_ledger',
        type='table',
    )) }}
{%- endmacro %}

{#- on-run-start: a row for this build, not passed until on-run-end says so; a build
    that dies midway (after merging rows, before testing them) thus counts as failed.
    A `dbt run` (models without their tests) gets a row that never passes, so the next
    build neither trusts the Silver runs fact_sales took nor scopes its tests. -#}
{% macro start_build() -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set ledger = build_ledger() -%}
        {%- set whole = flags.WHICH == 'build' and selects_every_data_node() -%}
        {%- do adapter.create_schema(ledger) -%}
        {%- do run_query(
            'create table if not exists ' ~ ledger ~ ' (invocation_id ' ~ dbt.type_string()
            ~ ', started_at ' ~ dbt.type_timestamp() ~ ', finished_at ' ~ dbt.type_timestamp()
            ~ ', whole_project boolean, passed boolean, sales_scope ' ~ dbt.type_string()
            ~ ', sales_quarantine_scope ' ~ dbt.type_string() ~ ')'
        ) -%}
        {#- the Silver scope of the build (macros/incremental.sql), added to older ledgers;
            run_query, not get_columns_in_relation, which would open a transaction that
            dbt rolls back after the hooks, taking this build's row with it -#}
        {%- for column in ['sales_scope', 'sales_quarantine_scope'] -%}
            {%- do run_query('alter table ' ~ ledger ~ ' add column if not exists ' ~ column ~ ' ' ~ dbt.type_string()) -%}
        {%- endfor -%}
        {%- set scopes = [] -%}
        {%- for table in ['sales', 'sales_quarantine'] -%}
            {%- set scope = scope_for(table) -%}
            {%- do scopes.append("null" if scope is none else "'" ~ scope | replace("'", "''") ~ "'") -%}
        {%- endfor -%}
        {%- do run_query(
            'insert into ' ~ ledger ~ ' (invocation_id, started_at, finished_at, whole_project,'
            ~ " passed, sales_scope, sales_quarantine_scope) values ('" ~ invocation_id ~ "', "
            ~ dbt.current_timestamp() ~ ', null, ' ~ whole ~ ', false, ' ~ scopes | join(', ') ~ ')'
        ) -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether this invocation selected every node whose outcome depends on the data:
    each model but the views and each data test but those tagged `code_only`. Those
    (and unit tests) depend on the code alone, and `salespipe gold` leaves them out
    while the code is unchanged (salespipe.gold.runner), which keeps a build whole. -#}
{% macro selects_every_data_node() -%}
    {%- for node in graph.nodes.values() if node.resource_type in ('model', 'test') -%}
        {%- set code_only = node.config.materialized == 'view' if node.resource_type == 'model'
                            else 'code_only' in node.tags -%}
        {%- if not code_only and node.unique_id not in selected_resources -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#- on-run-end: whether every node of this build passed. -#}
{% macro finish_build(results) -%}
    {%- if execute and flags.WHICH == 'build' -%}
        {%- set failed = results | rejectattr('status', 'in', ['success', 'pass', 'warn']) | list -%}
        {%- do run_query(
            'update ' ~ build_ledger() ~ ' set finished_at = ' ~ dbt.current_timestamp()
            ~ ', passed = ' ~ (failed | length == 0) ~ " where invocation_id = '" ~ invocation_id ~ "'"
        ) -%}
    {%- elif execute and flags.WHICH == 'run' -%}
        {%- do run_query(
            'update ' ~ build_ledger() ~ ' set finished_at = ' ~ dbt.current_timestamp()
            ~ " where invocation_id = '" ~ invocation_id ~ "'"
        ) -%}
    {%- endif -%}
{%- endmacro %}
