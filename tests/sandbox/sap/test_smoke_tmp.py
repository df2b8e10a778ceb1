import time
import requests
from integration_hub.sandbox.sap.seed import seed

def test_it_smoke(sap_sandbox):
    t=time.time(); counts = seed(); print("seed", time.time()-t, counts)
    t=time.time(); seed(); print("seed2", time.time()-t)
    root = f"{sap_sandbox.url}/sap/opu/odata/sap/"
    s = requests.Session(); s.auth=("sandbox","sandbox")
    r = s.get(root+"API_SALES_ORDER_SRV/A_SalesOrder?$expand=to_Item/to_PricingElement,to_Partner&$format=json&$inlinecount=allpages&$top=1")
    print(r.status_code, r.text[:3000])
    r = s.get(root+"API_BUSINESS_PARTNER/A_BusinessPartner?$filter=substringof('Acme',BusinessPartnerFullName) eq true or SearchTerm1 eq 'ACME'&$select=BusinessPartner,BusinessPartnerFullName")
    print(r.status_code, r.text[:1000])
