"""NetSuite sandbox: SuiteTalk REST (record service + SuiteQL) with token-based authentication.

README (for adapter authors; the wire facts and their sources are in WIRE-ERP.md section 1)

Serve: `manage.py run_sandbox netsuite` on 127.0.0.1:`SANDBOX_NETSUITE_PORT` (8703); `make demo`
starts it. State is in the database (app `sandbox_netsuite`); seed with `manage.py seed_demo`
(or `integration_hub.sandbox.netsuite.seed.seed()`), from `integration_hub.sandbox.catalog`
(`netsuite_customers()`, `netsuite_items()`, `NETSUITE_TERMS`, ... give the ids).

Authentication: OAuth 1.0a TBA, `oauth_signature_method="HMAC-SHA256"` only, `realm` = the account
id in upper case. Settings / env (defaults): SANDBOX_NETSUITE_ACCOUNT (SANDBOX),
SANDBOX_NETSUITE_CONSUMER_KEY / _CONSUMER_SECRET / _TOKEN_ID / _TOKEN_SECRET (all `sandbox`),
SANDBOX_NETSUITE_TIMESTAMP_WINDOW (300 s), SANDBOX_NETSUITE_CONCURRENCY (5 requests in flight per
account; more get 429 `SSS_REQUEST_LIMIT_EXCEEDED`, no Retry-After). A JSON body is not part of the
signature base string (query parameters are). A bad signature, key, token, realm, timestamp or a
reused nonce is 401 `INVALID_LOGIN` with NetSuite's body; the sandbox names the reason in the
header `X-Sandbox-Login-Audit` (InvalidSignature, InvalidNonce, InvalidTimestamp, ...).

Record service, under `/services/rest/record/v1/`:
  customer, salesOrder, invoice, customerPayment, inventoryItem, nonInventorySaleItem, term,
  subsidiary, currency, priceLevel, itemFulfillment (read only). Path names are case-insensitive.
  GET <type>?limit=&offset=              collection {links, count, hasMore, items[{links,id}], offset, totalResults}
  GET <type>/<id>[?expandSubResources=true]   sublists inline only when expanded
  GET <type>/<id>/<sublist>              e.g. salesOrder/12/item
  POST <type>                            204, the new id only in `Location`
  PATCH <type>/<id>                      204; item lines with "line" update that line, others are
                                         appended; `?replace=item` replaces the sublist
  PUT <type>/eid:<externalId>            upsert: creates or updates (204 + Location either way);
                                         sublists in the body replace the record's (an order with
                                         fulfilled/billed lines keeps them when the lines are the same)
  DELETE <type>/<id>                     204; refused while other records depend on it
  POST salesOrder/<id>/!transform/invoice          204 + Location of the invoice; empty body bills
                                         all billable lines, or {"item":{"items":[{"orderLine":1,"quantity":3}]}}
  POST salesOrder/<id>/!transform/itemFulfillment  likewise for the inventory lines
  `<id>` may be `eid:<externalId>` anywhere; body references are {"id": "12"}, {"id": "eid:X"} or
  {"externalId": "X"}. Unknown body fields are ignored unless `X-NetSuite-PropertyNameValidation:
  Error` (then 400 USER_ERROR). `Prefer: respond-async` is refused (everything is synchronous).
  salesOrder: entity (required), item.items[{item, quantity, rate?, amount?, description?, price?}]
  (no rate: the customer's price level in the order's currency), otherRefNum, memo, tranDate,
  terms/currency/subsidiary (default: the customer's), orderStatus A|B on create (default B);
  read: tranId "SO1001"..., total, orderStatus {id: A..H, refName}, status, lines' quantityFulfilled /
  quantityBilled / itemType (InvtPart lines need fulfilment before billing, NonInvtPart do not).
  invoice: createdFrom, dueDate, total, amountPaid, amountRemaining, status {id: Open|Paid In Full}.
  customerPayment: customer, payment, apply.items[{doc, apply, amount}] (no apply: oldest first).
  customer: entityId, companyName, vatRegNumber, email, phone, subsidiary (required), currency, terms,
  priceLevel, creditLimit, addressBook; read-only balance, overdueBalance, unbilledOrders.
  item: itemId, displayName, salesDescription, price.items[{currencyPage, priceLevel, price}].
  Errors: {"type","title","status","o:errorDetails":[{"detail","o:errorCode","o:errorPath"?...}]}
  with USER_ERROR (missing value, rule broken), INVALID_KEY_OR_REF (bad reference),
  INVALID_FLD_VALUE (bad value), NONEXISTENT_ID (404), INVALID_RCRD_TYPE, INVALID_PARAMETER.

SuiteQL: `POST /services/rest/query/v1/suiteql?limit=(1..1000)&offset=` with `Prefer: transient`
and {"q": "..."}; answers {links, count, hasMore, items, offset, totalResults}. Grammar and value
formats: see `suiteql.py`. Tables: customer, customeraddressbook, customeraddressbookentityaddress,
item, pricing, transaction (type SalesOrd/CustInvc/CustPymt/ItemShip, status letters,
foreigntotal, foreignamountunpaid, externalid, entity, ...), transactionline, term, currency,
subsidiary, pricelevel. Anything else: 400 INVALID_PARAMETER, never a guessed answer.

Control plane (the other sandboxes' credentials or a TBA signature): `/_sandbox/faults` (system
`netsuite`; operations `record/<type>:<METHOD>`, `record/salesOrder/!transform/invoice:POST`,
`query/suiteql:POST`; kinds status, latency, drop, rate_limit, session_expiry, stale_etag) and
`/_sandbox/events` {"sales_order": id | eid:X | tranId, "event": fulfil|invoice|pay|close|cancel}.
"""
