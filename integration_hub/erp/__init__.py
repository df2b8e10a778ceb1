"""The ERP port (`base.py`: the operations the engine needs and the dataclasses they answer
with) and its adapters: `s4hana.py` for SAP S/4HANA over OData. `integration_hub.ports` picks the
adapter a handoff's `erp_target` names."""
