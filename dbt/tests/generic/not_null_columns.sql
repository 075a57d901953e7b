{#- Rows where any of `columns` is null, naming which. One test per model instead of one
    per column: a dbt test is a node, and each node costs dbt ~0.05 s of its own work
    whatever the data, which on an incremental build outweighs the query. -#}
{% test not_null_columns(model, columns) %}
    {{ dq_null_rows(model, columns) }}
{% endtest %}
