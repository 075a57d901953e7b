-- Gold reconciles with Silver: the same number of lines and exactly the same totals
-- (DECIMAL sums, compared with =, so to the cent and beyond).
{{ dq_reconcile(ref('fact_sales'), source('silver', 'sales'), ['sales', 'profit', 'quantity', 'shipping_cost', 'discount']) }}
