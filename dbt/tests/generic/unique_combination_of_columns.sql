{#- Rows whose combination of columns occurs more than once (a composite key). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ dq_duplicate_keys(model, combination_of_columns) }}
{% endtest %}
