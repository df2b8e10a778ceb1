"""Root-cause groups as units of work: "12 deals blocked by 'Enterprise Annual + Support'".

A group is the open exceptions of one queue sharing a cause (type + fingerprint). Where the
decision is shared, one action works the whole group, and a preview says first what it will do:
- product not mapped: map the product (one crosswalk row resolves every deal of it);
- customer not in SAP: map the account to a business partner (likewise);
- pricing mismatch: accept SAP's price on the deals whose variance is within a limit, and leave
  the rest for a person (each of those is its own decision).
Elsewhere (credit, addresses, …) each deal is its own decision and the group says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from crosswalks.services import CheckedRow
from exceptions.errors import ResolutionError
from exceptions.models import NON_HOLDING_TYPES, ExceptionStatus, ExceptionType, Queue, SyncException
from exceptions.resolution import customer_pick_check, exception_resolve_path, product_map_check
from exceptions.selectors import Viewer, exception_list

GROUP_LIMIT = 500


@dataclass
class GroupPreview:
    """What a group action will do, shown before it runs and then run exactly as shown."""

    action: str
    first: SyncException
    apply_to: list[SyncException]
    skip: list[tuple[SyncException, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    row: CheckedRow | None = None
    reruns: int = 0


def group_members(*, user: Viewer, queue: Queue, fingerprint: str) -> list[SyncException]:
    """The open exceptions of `queue` with this cause that `user` may see, oldest first."""
    if not fingerprint:
        return []
    qs = exception_list(user=user, queue=queue, status=ExceptionStatus.OPEN, fingerprint=fingerprint)
    return list(qs.order_by("first_seen", "pk")[:GROUP_LIMIT])


def variance_of(exception: SyncException) -> Decimal | None:
    if exception.variance_pct is not None:
        return exception.variance_pct
    try:
        return Decimal(str((exception.evidence or {}).get("variance_percent")))
    except ArithmeticError:
        return None


def _deals(members: list[SyncException]) -> int:
    return len({m.handoff_id for m in members})


def _reruns(members: list[SyncException]) -> int:
    """How many of the members' deals would re-run: those with nothing else open that holds them."""
    ids = {m.pk for m in members}
    handoffs = {m.handoff_id for m in members}
    held = set(SyncException.objects.filter(handoff_id__in=handoffs, status=ExceptionStatus.OPEN)
               .exclude(pk__in=ids).exclude(type_code__in=NON_HOLDING_TYPES).values_list("handoff_id", flat=True))
    return len(handoffs - held)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _reruns_line(reruns: int, *, deals: int) -> str:
    """What the re-run will be; says why some deals stay only when some do."""
    tail = "" if reruns >= deals else f" (the other {deals - reruns} still have something else open)"
    return f"Re-runs {_plural(reruns, 'deal')} from validation{tail}."


def group_preview(*, members: list[SyncException], sap_material: str = "", business_partner: str = "",
                  max_variance: Decimal | None = None, variance_given: bool = False) -> GroupPreview:
    """What the group's shared action would do with these inputs; ResolutionError when the inputs
    are wrong (SAP does not know the material, no variance limit) or nothing is shared."""
    first = members[0]
    code = first.type_code
    if code == ExceptionType.PRODUCT_NOT_MAPPED:
        if not sap_material:
            raise ResolutionError("enter the SAP material the product maps to")
        row = product_map_check(exception=first, components=[{"sap_material": sap_material, "quantity_factor": "1"}])
        product = first.product_code or (first.evidence or {}).get("product_code", "")
        preview = GroupPreview("map_product", first, members, row=row,
                               data={"components": [{"sap_material": sap_material.upper(), "quantity_factor": "1"}]})
        preview.reruns = _reruns(members)
        preview.lines = [f"Writes the product crosswalk row {product} → {sap_material.upper()} (manual, from now on).",
                         f"Resolves all {len(members)} open exceptions of this product.",
                         _reruns_line(preview.reruns, deals=_deals(members))]
        return preview
    if code == ExceptionType.CUSTOMER_NOT_FOUND:
        if not business_partner:
            raise ResolutionError("enter the SAP business partner the account maps to")
        row = customer_pick_check(exception=first, business_partner=business_partner)
        preview = GroupPreview("pick_customer", first, members, row=row,
                               data={"business_partner": business_partner.upper()})
        preview.reruns = _reruns(members)
        preview.lines = [f"Maps the account {row.values.get('crm_account_name') or row.values.get('crm_account_id')} "
                         f"to business partner {business_partner.upper()} (customer crosswalk, from now on).",
                         f"Resolves all {len(members)} open exceptions of this account.",
                         _reruns_line(preview.reruns, deals=_deals(members))]
        return preview
    if code == ExceptionType.PRICING_MISMATCH:
        if max_variance is None:
            raise ResolutionError("enter the largest variance to accept SAP's price for, a number from 0 to 100 (%)"
                                  if variance_given else "enter the largest variance (%) to accept SAP's price for")
        within, beyond = [], []
        for member in members:
            variance = variance_of(member)
            if variance is not None and abs(variance) <= max_variance:
                within.append(member)
            else:
                beyond.append((member, "no variance recorded" if variance is None else
                               f"variance {variance} % is beyond {max_variance} %: decide it on its own"))
        preview = GroupPreview("accept_sap", first, within, skip=beyond,
                               data={"note": f"SAP price accepted for the group (variance up to {max_variance} %)"})
        preview.reruns = _reruns(within)
        preview.lines = [f"Accepts SAP's price on {_plural(len(within), 'deal')} with a variance up to {max_variance} %.",
                         f"Leaves {len(beyond)} for a person: their variance is larger.",
                         _reruns_line(preview.reruns, deals=_deals(within))]
        return preview
    raise ResolutionError(f"{first.get_type_code_display()}: these deals share a cause but each is its own "
                          "decision; work them one by one, or tick them in the list for a bulk action")


def group_apply(*, preview: GroupPreview, actor: User) -> str:
    """Run the previewed action; returns what was done, in a sentence."""
    if preview.action in ("map_product", "pick_customer"):
        # One crosswalk row; the path resolves the rest of the cause in the queues `actor` works.
        exception_resolve_path(exception=preview.first, actor=actor, path=preview.action, data=preview.data)
        left = SyncException.objects.filter(pk__in=[m.pk for m in preview.apply_to], status=ExceptionStatus.OPEN).count()
        done = len(preview.apply_to) - left
        return f"{preview.lines[0]} {_plural(done, 'exception')} resolved; the deals are re-running."
    for member in preview.apply_to:
        exception_resolve_path(exception=member, actor=actor, path="accept_sap", data=preview.data)
    return f"Accepted SAP's price on {_plural(len(preview.apply_to), 'deal')}; {len(preview.skip)} left for a person."
