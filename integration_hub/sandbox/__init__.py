"""Local stand-ins for Salesforce and SAP S/4HANA that speak their real wire formats.

Each sandbox runs as its own HTTP server (`manage.py run_sandbox salesforce|sap`), keeps its state
in the database (its own tables, never read by the hub) and takes fault injection over HTTP at
`/_sandbox/faults`. The hub reaches them only through its connectors, exactly as it reaches the
real systems; production differs only in environment variables.
"""
