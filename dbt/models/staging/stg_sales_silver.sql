-- One row per Silver order line, typed per the contract, lineage kept.
with source as (

    select * from {{ source('silver', 'sales') }}

)

select
    {{ silver_columns('sales') }}
from source
