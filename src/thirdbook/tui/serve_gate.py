"""The door in front of `thirdbook serve`: textual-serve has no authentication of its own, so
every HTTP request and the websocket pass this aiohttp middleware first.

- Where it listens: loopback unless `--allow-remote`; any other address needs a token.
- The token: on the first load as `?token=…` (answered with a cookie and a redirect to the
  same page without it), then the cookie; or `Authorization: Bearer …` for a script. Compared
  in constant time; anything else gets 401 and one sentence.
- On loopback the Host header must name loopback (or the public URL's host): a web page
  whose name was pointed at 127.0.0.1 (DNS rebinding) is refused. A websocket whose Origin is
  another site is refused (cross-site websocket hijacking).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import hdrs, web

__all__ = ["Gate", "ServePlan", "is_loopback", "plan_serving"]

MIN_TOKEN = 16
"""The fewest characters a given token may have (a generated one has 32)."""

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine
    only. A name other than localhost counts as remote: it may resolve anywhere."""
    name = host.strip().lower().strip("[]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServePlan:
    """What `thirdbook serve` was asked for, checked: where it listens, the token in force
    (None: none, loopback only), and whether browser sessions may act."""

    host: str
    port: int
    token: str | None
    token_generated: bool
    allow_actions: bool
    public_url: str | None = None
    max_sessions: int = 8

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def base_url(self) -> str:
        """Where a browser opens the console (the public URL behind a proxy)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def cookie(self) -> str:
        """The cookie's name: one a port, so two servers on one host keep their own."""
        return f"thirdbook_serve_{self.port}"


def plan_serving(
    host: str,
    port: int,
    *,
    allow_remote: bool,
    token: str | None,
    no_token: bool,
    allow_actions: bool,
    public_url: str | None = None,
    max_sessions: int = 8,
) -> ServePlan:
    """Check the options against the security model; a refusal is a `ValueError` whose
    message is the sentence to show."""
    loopback = is_loopback(host)
    if not loopback and not allow_remote:
        raise ValueError(
            f"--host {host} is not a loopback address: serving the console beyond this "
            "machine needs --allow-remote (and a token), best behind a reverse proxy with TLS"
        )
    if token is not None and no_token:
        raise ValueError("--no-token and a token (--token or THIRDBOOK_SERVE_TOKEN) disagree")
    if no_token and not loopback:
        raise ValueError(
            f"--no-token is refused on {host}: a console served beyond loopback needs a token"
        )
    if no_token and allow_actions:
        raise ValueError(
            "--no-token is refused with --allow-actions: every user of this machine could "
            "then act as you"
        )
    if token is not None and len(token) < MIN_TOKEN:
        raise ValueError(f"the token is too short: give one of at least {MIN_TOKEN} characters")
    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        raise ValueError(f"--public-url {public_url} is not an http:// or https:// URL")
    generated = token is None and not no_token
    return ServePlan(
        host=host,
        port=port,
        token=secrets.token_urlsafe(24) if generated else token,
        token_generated=generated,
        allow_actions=allow_actions,
        public_url=public_url,
        max_sessions=max_sessions,
    )


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _hostname(netloc: str) -> str:
    """The host of `host:port` (IPv6 in brackets kept whole), lower case."""
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class Gate:
    """The checks of one server (see the module's docstring), as an aiohttp middleware."""

    def __init__(self, plan: ServePlan) -> None:
        self.plan = plan
        public = urlsplit(plan.public_url) if plan.public_url else None
        self.public_netloc = public.netloc.lower() if public else None
        self.public_host = (public.hostname or "").lower() if public else None
        self.secure = public is not None and public.scheme == "https"

    def host_refusal(self, request: web.Request) -> str | None:
        """On loopback: why the Host header is refused (None when it names loopback)."""
        if not self.plan.loopback:
            return None
        name = _hostname(request.host)
        if is_loopback(name) or (self.public_host is not None and name == self.public_host):
            return None
        return (
            f"403: this console answers only to loopback names (localhost, 127.0.0.1), "
            f"not {name or 'an empty Host'}; behind a proxy, give its address as --public-url"
        )

    def origin_refusal(self, request: web.Request) -> str | None:
        """A websocket opened by a page of another site (None when it is this one's)."""
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None:  # not a browser: the token (if any) decides
            return None
        netloc = urlsplit(origin).netloc.lower()
        if netloc in {request.host.lower(), self.public_netloc}:
            return None
        return "403: a websocket from another site's page is refused"

    __middleware_version__ = 1
    """An aiohttp middleware of the current kind (a handler in, a response out)."""

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = self.host_refusal(request)
        if refused is None and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            refused = self.origin_refusal(request)
        if refused is not None:
            return _sentence(403, refused)
        token = self.plan.token
        if token is not None:
            if _same(request.query.get("token"), token):
                return self._welcome(request)
            cookie = request.cookies.get(self.plan.cookie)
            if not (_same(cookie, token) or _same(_bearer(request), token)):
                return _sentence(
                    401,
                    "401: this thirdbook console needs its token: open the address that "
                    "`thirdbook serve` printed (…/?token=…)",
                )
        response = await handler(request)
        _harden(response)
        return response

    def _welcome(self, request: web.Request) -> web.StreamResponse:
        """The right token in the address: keep it in a cookie and show the same page
        without it (out of the address bar, the history and any referrer)."""
        kept = [(k, v) for k, v in request.query.items() if k != "token"]
        response = web.Response(
            status=303, headers={hdrs.LOCATION: str(request.rel_url.with_query(kept))}
        )
        assert self.plan.token is not None
        response.set_cookie(
            self.plan.cookie,
            self.plan.token,
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            path="/",
        )
        _harden(response)
        return response


def _sentence(status: int, text: str) -> web.Response:
    response = web.Response(status=status, text=text + "\n")
    _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    """Never framed by another page, never cached, no referrer sent anywhere."""
    if response.prepared:  # a websocket, already answered
        return
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
