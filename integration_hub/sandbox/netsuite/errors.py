"""NetSuite's REST error body: `type`, `title`, `status` and `o:errorDetails` (WIRE-ERP 1.5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse, JsonResponse

_RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"
TYPES: dict[int, tuple[str, str]] = {
    400: (_RFC9110 + "15.5.1", "Bad Request"),
    401: (_RFC9110 + "15.5.2", "Unauthorized"),
    403: (_RFC9110 + "15.5.4", "Forbidden"),
    404: (_RFC9110 + "15.5.5", "Not Found"),
    405: (_RFC9110 + "15.5.6", "Method Not Allowed"),
    409: (_RFC9110 + "15.5.10", "Conflict"),
    415: (_RFC9110 + "15.5.16", "Unsupported Media Type"),
    429: ("https://www.rfc-editor.org/rfc/rfc6585.html#section-4", "Too Many Requests"),
    500: (_RFC9110 + "15.6.1", "Internal Server Error"),
    502: (_RFC9110 + "15.6.3", "Bad Gateway"),
    503: (_RFC9110 + "15.6.4", "Service Unavailable"),
    504: (_RFC9110 + "15.6.5", "Gateway Timeout"),
}
ACCESS = "Error while accessing a resource. "
LOGIN_DETAIL = ("Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
                "Setup > Users/Roles > User Management > View Login Audit Trail.")


@dataclass
class Detail:
    detail: str
    code: str
    path: str | None = None  # o:errorPath: where in the body
    query_param: str | None = None  # o:errorQueryParam
    header: str | None = None  # o:errorHeader
    url_path: str | None = None  # o:errorUrl

    def as_dict(self) -> dict[str, str]:
        out = {"detail": self.detail, "o:errorCode": self.code}
        for key, value in (("o:errorPath", self.path), ("o:errorQueryParam", self.query_param),
                           ("o:errorHeader", self.header), ("o:errorUrl", self.url_path)):
            if value is not None:
                out[key] = value
        return out


@dataclass
class NsError(Exception):
    """A refusal the sandbox renders as NetSuite would; several details may share one response."""

    status: int
    details: list[Detail]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def one(cls, status: int, code: str, detail: str, **where: Any) -> NsError:
        return cls(status, [Detail(detail, code, **where)])


def invalid_value(field_name: str, value: Any, *, path: str | None = None, reference: bool = False) -> NsError:
    code = "INVALID_KEY_OR_REF" if reference else "INVALID_FLD_VALUE"
    return NsError.one(400, code, f"{ACCESS}You have entered an Invalid Field Value {value} for the following field: "
                       f"{field_name}", path=path or field_name)


def user_error(detail: str, *, path: str | None = None) -> NsError:
    return NsError.one(400, "USER_ERROR", ACCESS + detail, path=path)


def not_found() -> NsError:
    return NsError.one(404, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID.")


def login_failed(reason: str) -> NsError:
    # The real reason shows only in NetSuite's Login Audit Trail; the sandbox says it in a header.
    return NsError(401, [Detail(LOGIN_DETAIL, "INVALID_LOGIN")], headers={"X-Sandbox-Login-Audit": reason})


def render(exc: NsError) -> HttpResponse:
    type_url, title = TYPES.get(exc.status, (_RFC9110 + "15", "Error"))
    body = {"type": type_url, "title": title, "status": exc.status,
            "o:errorDetails": [d.as_dict() for d in exc.details]}
    response = JsonResponse(body, status=exc.status, content_type="application/vnd.oracle.resource+json; type=error")
    for name, value in exc.headers.items():
        response[name] = value
    return response
