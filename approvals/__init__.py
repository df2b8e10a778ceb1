"""Risk-based approvals (middle floor): scoring a validated deal (`risk.py`), the approval queue,
four-eyes decisions, the medium-risk window that releases an order's delivery block, and SLA
escalation."""
