"""The /inzage page with `serve --peers`: a front log with users and register, a healthy peer log
with actions of the person, a stopped peer, and a peer that answers what a real one never would.

`start_federation(tmp)` starts the front (pages_support's server, with `--peers`) and the healthy
peer `sociaal` (a real log server), seeds both, and leaves `kapot` a log server that is not running
(its port reserved). `HostilePeer` is a small ASGI app on loopback (uvicorn) that answers the
Inzage API with crafted rows, to prove the page filters on its own side.
"""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from tests.server.pages_support import BIJSTAND, BSN, HUWELIJK, OTHER_BSN, PASSWORDS, SECRET, actie, seed_actions
from tests.server.pages_support import log_client, post_all, start_server
from tests.support.logserver import LogServer, mint_token

PEER_CLIENT = "centraal-inzage"
PEER_SECRET = "peer-inzage-secret-0123456789abcdef0123456789"
WRONG_SECRET = "not-the-peer-secret-0123456789abcdef0123456789"
PERIOD = {"begin": "2024-01-01", "eind": "2024-12-31"}


@dataclass
class Federation:
    front: LogServer
    sociaal: LogServer
    kapot: LogServer  # not running: the stopped log
    verwerkingen: dict[str, str]  # verwerkingId by name, in both logs


def start_peer(tmp: Path, name: str, scopes: tuple[str, ...] = ("read:confidential",)) -> LogServer:
    """A real log server; `app` writes, PEER_CLIENT (the front's credentials) reads with `scopes`."""
    return LogServer(f"sqlite:///{tmp / (name + '.db')}", log_path=tmp / f"{name}.log",
                     clients={"app": (SECRET, ["create:confidential", "read:confidential", "update:confidential"]),
                              PEER_CLIENT: (PEER_SECRET, list(scopes))})


def write_peers(tmp: Path, peers: dict[str, str], secrets: dict[str, str] | None = None,
                timeouts: dict[str, float] | None = None) -> Path:
    """peers.toml: each peer's api_url; the secret (PEER_SECRET unless given) in a file of its own."""
    lines = []
    for name, url in peers.items():
        secret_file = tmp / f"{name}.secret"
        secret_file.write_text((secrets or {}).get(name, PEER_SECRET) + "\n")
        lines += [f"[peers.{name}]", f'api_url = "{url}"', f'client_id = "{PEER_CLIENT}"',
                  f'secret_file = "{secret_file}"']
        if timeouts and name in timeouts:
            lines.append(f"timeout = {timeouts[name]}")
        lines.append("")
    path = tmp / "peers.toml"
    path.write_text("\n".join(lines))
    return path


def seed_peer(peer: LogServer, huwelijk: str) -> None:
    """The peer's actions: one in the front's Huwelijk verwerking, one opgeheven, one vertrouwelijk,
    one of another person and one just before the period."""
    intake = (str(uuid.uuid4()), "Intake")
    schuldhulp = (str(uuid.uuid4()), "Schuldhulp")
    bodies = [
        actie(BSN, (huwelijk, "Huwelijk"), "Toetsen getuige", "2024-03-01T12:00:00+01:00", HUWELIJK),
        actie(BSN, schuldhulp, "Uitbetalen", "2024-04-10T09:00:00+02:00", BIJSTAND,
              soortAfnemerId="OIN", afnemerId="00000001003214345000"),
        actie(BSN, intake, "Intakegesprek", "2024-02-01T09:00:00+01:00", BIJSTAND, "vertrouwelijk"),
        actie(BSN, schuldhulp, "Geheim onderzoek", "2024-06-01T09:00:00+02:00", BIJSTAND, "vertrouwelijk"),
        actie(OTHER_BSN, schuldhulp, "Andermans dossier", "2024-03-05T09:00:00+01:00", BIJSTAND),
        actie(BSN, schuldhulp, "Vorig jaar", "2023-12-31T23:30:00+01:00", BIJSTAND),
    ]
    with log_client(peer) as c:
        post_all(c, bodies)
        # lifting the confidentiality of the intake: stored as `opgeheven`
        r = c.patch("/verwerkingsacties", params={"verwerkingId": intake[0]}, json={"vertrouwelijkheid": "normaal"})
        assert r.status_code == 204, r.text


def start_federation(tmp: Path) -> Federation:
    sociaal = start_peer(tmp, "sociaal").start()
    kapot = start_peer(tmp, "kapot")  # never started here: a log that is down
    peers = write_peers(tmp, {"sociaal": sociaal.api_url, "kapot": kapot.api_url})
    front = start_server(tmp, "--peers", str(peers))
    verwerkingen = seed_actions(front)
    seed_peer(sociaal, verwerkingen["Huwelijk"])
    return Federation(front, sociaal, kapot, verwerkingen)


def inzage_count(server: LogServer) -> int:
    """How many Inzage actions `server` holds about the person (every page, in case there are many)."""
    count, page = 0, 1
    with httpx.Client(base_url=server.api_url, headers={"Authorization": "Bearer " + mint_token("app", SECRET)}) as c:
        while True:
            r = c.get("/verwerkingsacties", params={"objecttype": "persoon", "soortObjectId": "BSN",
                                                    "objectId": BSN, "page": page})
            assert r.status_code == 200, r.text
            count += sum(1 for a in r.json()["results"] if a["actieNaam"] == "Inzage verwerkingenlog")
            if not r.json()["next"]:
                return count
            page += 1


# -- reading the page over plain HTTP -------------------------------------------------------------

def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def logged_in(front: LogServer, user: str) -> tuple[httpx.Client, str]:
    """A client with a session of `user`, and the session's CSRF token."""
    client = httpx.Client(base_url=front.base_url, timeout=60)
    token = csrf(client.get("/inzage").text)
    r = client.post("/inzage/inloggen", data={"csrf": token, "gebruiker": user, "wachtwoord": PASSWORDS[user]})
    assert r.status_code == 303, r.text
    return client, csrf(client.get("/inzage").text)


class _Page(HTMLParser):
    """The results of an /inzage page: groups with their rows of cell texts, and the alert/status texts."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[tuple[str, list[list[str]]]] = []
        self.texts: dict[str, list[str]] = {"alert": [], "status": [], "logs": []}
        self._cell: list[str] | None = None
        self._h3: list[str] | None = None
        self._block: tuple[str, list[str]] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self._block is not None:
            self._depth += 1
        elif a.get("role") in ("alert", "status") or "logs" in (a.get("class") or "").split():
            self._block, self._depth = ("logs" if a.get("role") is None else str(a["role"]), []), 1
        if tag == "h3":
            self._h3 = []
        elif tag == "tr" and self.groups:
            self.groups[-1][1].append([])
        elif tag == "td":
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._block is not None:
            self._depth -= 1
            if self._depth == 0:
                self.texts[self._block[0]].append(" ".join("".join(self._block[1]).split()))
                self._block = None
        if tag == "h3" and self._h3 is not None:
            self.groups.append((" ".join("".join(self._h3).split()), []))
            self._h3 = None
        elif tag == "td" and self._cell is not None and self.groups:
            self.groups[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self.groups:
            self.groups[-1] = (self.groups[-1][0], [r for r in self.groups[-1][1] if r])

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._h3, self._block[1] if self._block else None):
            if part is not None:
                part.append(data)


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@dataclass
class HostilePeer:
    """An ASGI app that answers `/api/v1/verwerkte-objecten` with `pages` (lists of results), and notes
    every request it got (path, query, Authorization). `status` other than 200 answers that instead."""

    pages: list[list[dict[str, Any]]]
    status: int = 200
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    hold: threading.Event | None = None  # set: answer; until then the request hangs (a peer too slow)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from starlette.requests import Request
        from starlette.responses import JSONResponse

        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.requests.append((request.url.path, dict(request.query_params),
                              request.headers.get("authorization", "")))
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.05)  # polls the release, so the server can shut down
        if self.status != 200:
            response = JSONResponse({"title": "Storing"}, status_code=self.status)
        else:
            number = int(request.query_params.get("page", "1"))
            more = number < len(self.pages)
            # a `next` link that points elsewhere: the front must not follow it with its credentials
            response = JSONResponse({"count": sum(map(len, self.pages)),
                                     "next": f"http://elders.invalid/api/v1/verwerkte-objecten?page={number + 1}"
                                     if more else None, "previous": None, "results": self.pages[number - 1]})
        await response(scope, receive, send)


def crafted(naam: str, tijdstip: str, vertrouwelijkheid: str, bsn: str = BSN,
            actie_id: str | None = None) -> dict[str, Any]:
    """A result as the Inzage API writes one (an object with its verwerkingsactie)."""
    return {
        "url": "http://peer.invalid/api/v1/verwerkte-objecten/x", "verwerktObjectId": str(uuid.uuid4()),
        "objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, "betrokkenheid": "Aanvrager",
        "verwerkteSoortenGegevens": None,
        "verwerkingsactie": {
            "url": "http://peer.invalid/api/v1/verwerkingsacties/x", "actieId": actie_id or str(uuid.uuid4()),
            "actieNaam": naam, "handelingNaam": "Behandeling", "verwerkingNaam": "Vreemde verwerking",
            "verwerkingId": "0d9f1a3e-5c1b-4c1e-9a77-3f0c2f0e6d11", "verwerkingsactiviteitId": None,
            "verwerkingsactiviteitUrl": None, "bewaartermijn": "P5Y", "uitvoerder": None,
            "soortAfnemerId": None, "afnemerId": None, "verwerkingsactiviteitIdAfnemer": None,
            "verwerkingsactiviteitUrlAfnemer": None, "verwerkingIdAfnemer": None,
            "vertrouwelijkheid": vertrouwelijkheid, "tijdstip": tijdstip,
            "tijdstipRegistratie": tijdstip, "verwerkteObjecten": [],
        },
    }
