{#- Reusable data-quality checks. Each returns a query whose rows are the failures, so a
    generic or singular test is just a call; a passing check returns no rows. -#}

{#- Key values that occur more than once. -#}
{% macro dq_duplicate_keys(relation, key_columns) -%}
    select {{ key_columns | join(', ') }}, count(*) as occurrences
    from {{ relation }}
    group by {{ key_columns | join(', ') }}
    having count(*) > 1
{%- endmacro %}

{#- Rows with a null in any of `columns`, with a flag per column saying which. -#}
{% macro dq_null_rows(relation, columns) -%}
    select
        {%- for col in columns %}
        {{ col }} is null as {{ col }}_is_null{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    where {% for col in columns %}{{ col }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{%- endmacro %}

{#- Child rows whose non-null foreign key has no parent row (orphans). -#}
{% macro dq_orphans(child, fk, parent, pk) -%}
    select c.{{ fk }} as orphan_key, count(*) as child_rows
    from {{ child }} as c
    left join {{ parent }} as p on c.{{ fk }} = p.{{ pk }}
    where c.{{ fk }} is not null and p.{{ pk }} is null
    group by c.{{ fk }}
{%- endmacro %}

{#- SCD2 versions of one natural key whose [valid_from, valid_to) ranges overlap or
    leave a gap: each version must end exactly where the next begins. -#}
{% macro dq_scd2_ranges(relation, natural_key, valid_from='valid_from', valid_to='valid_to') -%}
    with ordered as (
        select
            {{ natural_key }} as natural_key,
            {{ valid_from }} as valid_from,
            {{ valid_to }} as valid_to,
            lead({{ valid_from }}) over (partition by {{ natural_key }} order by {{ valid_from }}) as next_from
        from {{ relation }}
    )
    select natural_key, valid_from, valid_to, next_from,
        case when valid_to > next_from then 'overlap'
             when valid_to < next_from then 'gap'
             else 'empty_range' end as problem
    from ordered
    where (next_from is not null and valid_to <> next_from)
       or valid_from >= valid_to
{%- endmacro %}

{#- Natural keys without exactly one current version, or whose current version is not
    the open-ended last one. -#}
{% macro dq_scd2_current(relation, natural_key) -%}
    select {{ natural_key }} as natural_key,
        sum(case when is_current then 1 else 0 end) as current_rows,
        max(valid_to) as last_valid_to
    from {{ relation }}
    group by {{ natural_key }}
    having sum(case when is_current then 1 else 0 end) <> 1
        or max(valid_to) <> cast('{{ var("scd2_end") }}' as date)
        or max(case when is_current then valid_to end) <> cast('{{ var("scd2_end") }}' as date)
{%- endmacro %}

{#- Fact rows whose SCD2 key resolves to a version not valid on the fact's date
    (a point-in-time join gone wrong). -#}
{% macro dq_point_in_time(fact, fk, dim, pk, fact_date) -%}
    select f.{{ fk }} as fact_key, f.{{ fact_date }} as fact_date, d.valid_from, d.valid_to
    from {{ fact }} as f
    join {{ dim }} as d on f.{{ fk }} = d.{{ pk }}
    where not (f.{{ fact_date }} >= d.valid_from and f.{{ fact_date }} < d.valid_to)
{%- endmacro %}

{#- Differences between two relations' row counts and exact totals of the given
    measures (decimals: equality to the cent and beyond, no tolerance). -#}
{% macro dq_reconcile(left, right, measures) -%}
    with l as (
        select count(*) as row_count
        {%- for m in measures %}, coalesce(sum({{ m }}), 0) as {{ m }}{% endfor %}
        from {{ left }}
    ),
    r as (
        select count(*) as row_count
        {%- for m in measures %}, coalesce(sum({{ m }}), 0) as {{ m }}{% endfor %}
        from {{ right }}
    )
    {%- for m in ['row_count'] + measures %}
    select '{{ m }}' as measure, cast(l.{{ m }} as {{ dbt.type_string() }}) as gold_value,
        cast(r.{{ m }} as {{ dbt.type_string() }}) as silver_value
    from l cross join r where l.{{ m }} <> r.{{ m }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
