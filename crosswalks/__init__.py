"""Crosswalks (middle floor): the business-editable mapping tables (product → material(s),
customer → business partner, terms, tax, units, currency), each saved through one service with
its checks against the ERP, history and revert, unblocking the deals an edit fixes; matching and
suggestions with explained confidence, CSV import and export."""
