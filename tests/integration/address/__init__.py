"""The address monitor's tests (docs/playbooks/address-validation-failure.md): through the real intake path
(Shopify's samples), on a SQLite file and on PostgreSQL, with the carrier stand-in checking every address, the
Shopify Admin stand-in holding and releasing the fulfilment order for real, and the SMTP stand-in. The stand-ins
and where the desk runs are this folder's fixtures (conftest.py); what the tests share besides is harness.py.
"""
