{#- Overrides for the fakesnow emulator, active only on the `fakesnow` target (tests).

    On the real snowflake target these macros are exactly dbt's defaults.

    make_temp_relation: unit tests and the incremental merge create TEMPORARY tables
    and views named database.schema.x; Snowflake accepts that, but fakesnow (DuckDB
    underneath) only allows temporary objects in its "temp" catalog, so on fakesnow
    the temp relation is left unqualified (session-scoped, which is what temporary
    means anyway). -#}
{% macro snowflake__make_temp_relation(base_relation, suffix) %}
    {%- set relation = default__make_temp_relation(base_relation, suffix) -%}
    {%- if on_fakesnow() -%}
        {%- set relation = relation.include(database=false, schema=false) -%}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}

{#- get_merge_sql: Snowflake resolves the unqualified column list in MERGE's
    `when not matched then insert (...) values (...)` to the source; fakesnow's DuckDB
    calls it ambiguous between source and target. On fakesnow only, the VALUES list is
    qualified with the source alias, and the MERGE is not wrapped in dbt-snowflake's
    explicit BEGIN/COMMIT (fakesnow runs a MERGE as several statements touching its
    own bookkeeping database, which one DuckDB transaction may not span). Otherwise the
    statement is dbt-snowflake's own. -#}
{% macro snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates) -%}
    {%- if not on_fakesnow() -%}
        {{ return(dbt.snowflake__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates)) }}
    {%- endif -%}
    {%- set sql = dbt.default__get_merge_sql(target, source_sql, unique_key, dest_columns, incremental_predicates) -%}
    {%- set plain = '(' ~ get_quoted_csv(dest_columns | map(attribute='name')) ~ ')' -%}
    {%- set qualified = [] -%}
    {%- for column in dest_columns -%}
        {%- do qualified.append('DBT_INTERNAL_SOURCE.' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- set parts = sql.rsplit(plain, 1) -%}
    {{ return(parts | join('(' ~ qualified | join(', ') ~ ')')) }}
{%- endmacro %}

{#- A macro of its own because get_merge_sql's `target` argument (the relation)
    shadows dbt's `target` inside that macro. -#}
{% macro on_fakesnow() -%}
    {{ return(target.name == 'fakesnow') }}
{%- endmacro %}
