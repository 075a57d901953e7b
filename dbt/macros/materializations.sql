{#- Lean table and view materializations for DuckDB (Snowflake keeps its own).

    dbt-duckdb builds a table or view under a temporary name, renames the old one
    aside, renames the new one in and drops the old, asking the catalog about indexes
    and foreign keys on the way: eight statements, and as many adapter macro calls,
    per node. DuckDB replaces a relation atomically within a transaction, so one
    CREATE OR REPLACE does the same. On an incremental build those calls were a tenth
    of the time (8 nodes here). Not supported, because this project uses none of
    them: model contracts, grants, indexes and Python models; a model that asks for
    a contract fails to compile rather than be built without it. -#}

{% materialization table, adapter='duckdb' %}
    {%- set target = this.incorporate(type='table') -%}
    {{ salespipe_replace(target, 'table', compiled_code) }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}

{% materialization view, adapter='duckdb' %}
    {%- set target = this.incorporate(type='view') -%}
    {{ salespipe_replace(target, 'view', compiled_code) }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}

{% macro salespipe_replace(target, kind, compiled_code) %}
    {%- if config.get('contract', {}).enforced -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ model.name ~ ": contracts need dbt-duckdb's own " ~ kind
            ~ " materialization (macros/materializations.sql)") }}
    {%- endif -%}
    {%- set existing = load_cached_relation(this) -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- if existing is not none and existing.type != kind %}
        {{ drop_relation_if_exists(existing) }}
    {%- endif %}
    {%- set sql_header = config.get('sql_header', none) %}
    {% call statement('main') -%}
        {{ sql_header if sql_header is not none }}
        create or replace {{ kind }} {{ target }} as (
            {{ compiled_code }}
        )
    {%- endcall %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
{% endmacro %}
