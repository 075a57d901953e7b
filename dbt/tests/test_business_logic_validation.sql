-- Gold lines that break the contract's value rules (they should have been quarantined
-- in Silver) or lost a required measure on the way.
select order_id, row_id, 'non_positive_quantity' as problem from {{ ref('fact_sales') }} where quantity <= 0
union all
select order_id, row_id, 'negative_sales' from {{ ref('fact_sales') }} where sales < 0
union all
select order_id, row_id, 'discount_out_of_range' from {{ ref('fact_sales') }} where discount < 0 or discount > 1
union all
select order_id, row_id, 'ship_before_order' from {{ ref('fact_sales') }} where ship_date < order_date
union all
select order_id, row_id, 'missing_measure' from {{ ref('fact_sales') }}
where sales is null or profit is null or quantity is null or discount is null or shipping_cost is null
