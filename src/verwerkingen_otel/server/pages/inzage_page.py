"""`/inzage`: the privacy officer answers an AVG art. 15 request for one person.

The BSN travels only in POST bodies: never in a URL, a page title, the browser's history or the
access log. Each search (and each download) is logged as an Inzage action exactly like a call
of the Inzage API, before the answer is sent; if that cannot be recorded the answer is not given.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...model import InvalidValue, check_bsn, check_date
from ..auth import Principal
from ..inzage import log_inzage
from ..peers import SELF, configured_peers
from ..register_runtime import register_of
from ..state import state_of
from . import inzage_data, inzage_peers
from .render import SECURITY_HEADERS, render
from .session import (
    CSRF_COOKIE, SESSION_COOKIE, LoginLimiter, Session, Sessions, clear_cookie, csrf_matches, set_cookie,
)
from .users import UserFile

MAX_FORM_BYTES = 16 * 1024


class InzagePages:
    def __init__(self, users_file: str | None, idle_seconds: float) -> None:
        self.users = UserFile(users_file) if users_file else None
        self.sessions = Sessions(idle_seconds)
        self.limiter = LoginLimiter()

    # -- helpers ----------------------------------------------------------------------------

    async def _form(self, request: Request) -> dict[str, str] | None:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return None
        form = await request.form(max_files=0, max_fields=20)
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def _off(self, request: Request) -> Response:
        return render(request, "fout.html", status=404, private=True, titel="Inzage niet ingeschakeld",
                      melding="Deze server heeft geen gebruikers voor inzage (serve --users).")

    def _refused(self, request: Request, status: int = 403, melding: str | None = None) -> Response:
        return render(request, "fout.html", status=status, private=True, titel="Verzoek geweigerd",
                      melding=melding or "Het formulier is verlopen of niet van deze pagina afkomstig. "
                                         "Open de pagina opnieuw en probeer het nog eens.")

    def _search_page(self, request: Request, session: Session, status: int = 200, **context: Any) -> Response:
        # with `serve --peers` the page names the other logs it searches too (none: the page as without)
        return render(request, "inzage.html", status=status, private=True, gebruiker=session.user,
                      vertrouwelijk=("inzage-vertrouwelijk" in session.roles), csrf=session.csrf,
                      andere_logs=[p.name for p in configured_peers()], **context)

    # -- endpoints --------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """GET /inzage: the search form when logged in, else the login form."""
        if self.users is None:
            return self._off(request)
        session = self.sessions.get(request)
        if session is not None:
            return self._search_page(request, session)
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", private=True, csrf=token)
        set_cookie(request, response, CSRF_COOKIE, token)
        return response

    async def login(self, request: Request) -> Response:
        if self.users is None:
            return self._off(request)
        form = await self._form(request)
        if form is None or not csrf_matches(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
            return self._refused(request)
        name = form.get("gebruiker", "")[:64]
        address = request.client.host if request.client else "?"
        if self.limiter.blocked(address, name):
            return render(request, "login.html", status=429, private=True, csrf=form["csrf"],
                          fout="Te veel mislukte pogingen. Wacht enkele minuten en probeer het opnieuw.")
        user = await state_of(request).db(self.users.verify, name, form.get("wachtwoord", ""))
        if user is None:
            self.limiter.failed(address, name)
            return render(request, "login.html", status=401, private=True, csrf=form["csrf"],
                          fout="Gebruikersnaam of wachtwoord is onjuist.")
        self.limiter.succeeded(name)
        response = RedirectResponse("/inzage", status_code=303, headers=SECURITY_HEADERS)
        set_cookie(request, response, SESSION_COOKIE, self.sessions.create(user.name, user.roles))
        clear_cookie(request, response, CSRF_COOKIE)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.sessions.get(request)
        form = await self._form(request)
        if session is None or form is None or not csrf_matches(session.csrf, form.get("csrf")):
            return self._refused(request)
        self.sessions.end(request)
        response = RedirectResponse("/inzage", status_code=303, headers=SECURITY_HEADERS)
        clear_cookie(request, response, SESSION_COOKIE)
        return response

    async def _checked_search(self, request: Request) -> tuple[Session, dict[str, str], Any] | Response:
        """The session, the form and (bsn, begin, eind) — or the response that refuses."""
        if self.users is None:
            return self._off(request)
        session = self.sessions.get(request)
        if session is None:
            return self._refused(request, 401, "U bent niet (meer) ingelogd. Log opnieuw in.")
        form = await self._form(request)
        if form is None or not csrf_matches(session.csrf, form.get("csrf")):
            return self._refused(request)
        fouten: dict[str, str] = {}
        bsn = begin = eind = None
        try:
            bsn = check_bsn(form.get("bsn", "").strip())
        except InvalidValue:
            fouten["bsn"] = "Vul een geldig BSN in: 9 cijfers die de elfproef doorstaan."
        try:
            begin = check_date(form.get("begin", ""))
        except InvalidValue:
            fouten["begin"] = "Vul een geldige begindatum in (jjjj-mm-dd)."
        try:
            eind = check_date(form.get("eind", ""))
        except InvalidValue:
            fouten["eind"] = "Vul een geldige einddatum in (jjjj-mm-dd)."
        if begin is not None and eind is not None and eind < begin:
            fouten["eind"] = "De einddatum ligt vóór de begindatum."
        if fouten:  # the BSN is not echoed back into the form
            return self._search_page(request, session, status=400, fouten=fouten,
                                     begin=form.get("begin", "")[:10], eind=form.get("eind", "")[:10])
        return session, form, (bsn, begin, eind)

    async def _run(self, request: Request, session: Session, bsn: str, begin: date,
                   eind: date) -> tuple[list[Any], inzage_data.Herkomst | None]:
        """The groups of actions, and with `serve --peers` which logs answered (None without peers)."""
        state = state_of(request)
        history = await state.db(register_of(request).store.history)
        levels = inzage_data.levels_for("inzage-vertrouwelijk" in session.roles)
        peers = configured_peers()
        herkomst = None
        if peers:  # this log's rows and every peer's, each peer asked with its own credentials
            own = await state.db(inzage_data.rows, state.storage, history, bsn, begin, eind, levels, SELF)
            groups, herkomst = await inzage_peers.merged(peers, own, history, bsn, begin, eind, levels)
        else:
            groups = await state.db(inzage_data.query, state.storage, history, bsn, begin, eind, levels)
        # the look itself is a processing: logged exactly like an Inzage API call (NOTES §3)
        principal = Principal(f"inzage:{session.user}", frozenset())
        await log_inzage(state, request, principal, ("persoon", "BSN", bsn))
        return groups, herkomst

    async def search(self, request: Request) -> Response:
        checked = await self._checked_search(request)
        if isinstance(checked, Response):
            return checked
        session, _form, (bsn, begin, eind) = checked
        groups, herkomst = await self._run(request, session, bsn, begin, eind)
        return self._search_page(request, session, resultaat=groups, bsn=bsn, bsn_kort="…" + bsn[-3:],
                                 begin=begin.isoformat(), eind=eind.isoformat(), herkomst=herkomst,
                                 aantal=sum(len(g.acties) for g in groups))

    async def download(self, request: Request) -> Response:
        checked = await self._checked_search(request)
        if isinstance(checked, Response):
            return checked
        session, form, (bsn, begin, eind) = checked
        formaat = form.get("formaat")
        if formaat not in ("json", "csv"):
            return self._refused(request, 400, "Kies JSON of CSV.")
        groups, herkomst = await self._run(request, session, bsn, begin, eind)
        name = f"inzage-{begin.isoformat()}-{eind.isoformat()}.{formaat}"
        if formaat == "json":
            content, media = inzage_data.as_json(bsn, begin, eind, groups, herkomst), "application/json"
        else:
            content, media = inzage_data.as_csv(groups, herkomst), "text/csv; charset=utf-8"
        return Response(content, media_type=media, headers={
            **SECURITY_HEADERS, "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'})


__all__ = ["InzagePages"]
