"""The CRM port (`base.py`: read a deal, its owner, closed-won changes; write the ERP status back)
and its Salesforce adapter (`salesforce.py`), which owns every SOQL query and field name."""
