{{ config(materialized='view') }}
-- Batch and streaming lines as one set, labelled by the path that delivered them.
-- Both land in the one Silver table (deduplicated there on the line key, latest
-- precedence time winning), so the union is of disjoint parts; a line with any other
-- label would drop out here and fail the reconciliation test, not pass silently.
with batch as (

    select *, 'batch' as source_system
    from {{ ref('stg_sales_silver') }}
    where _source_system = 'batch'

),

streaming as (

    select *, 'streaming' as source_system
    from {{ ref('stg_sales_silver') }}
    where _source_system = 'streaming'

)

select * from batch
union all
select * from streaming
