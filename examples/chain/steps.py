"""What each step of the demo (../run_demo.py) does, shows and checks; run_demo.py starts and stops.

Every function prints what it does (`say`) and raises DemoFailed when the step did not do what it
should, so the demo exits non-zero naming the step and the reason. The two logs are read as one
through `Logs`: listing asks each, PATCH goes to the log that holds the action.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import httpx

from verwerkingen_otel import VerwerkingenlogClient
from verwerkingen_otel.client import VastgelegdeActie, jwt_hs256
from verwerkingen_otel.ldv import load_key
from verwerkingen_otel.model import VerwerktObject

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
GEMEENTE_OIN = "00000001999999999000"  # made up: 20 digits, like every OIN
BRP_OIN = "00000004999999999000"
# Official test BSNs (they pass the 11-test and belong to nobody); the provider knows these five.
BSNS = ("999993653", "999995017", "999990019", "999991905", "999992004")
INZAGE_BSN = "999992004"  # the person whose address is investigated (the confidential zaak)
SYSTEEM = {"Zaaksysteem Voorbeeldstad": "gemeente", "BRP-bevragen (voorbeeld)": "BRP"}
STEPS = 8
REGISTER_FILE = HERE / "register.toml"
PRIVACY_USER = "privacy"
GEMEENTE_LOG, BRP_LOG = "gemeente-log", "BRP-log"  # the two logs, named as in the destinations files
LOG_OF = {"gemeente": GEMEENTE_LOG, "BRP": BRP_LOG}  # where each side's actions belong
DESTINATIONS_FILE = "gemeente-destinations.toml"  # the zaak system's VERWERKINGEN_DESTINATIONS
INZAGE_FILE = "inzage-destinations.toml"  # both logs, for `verwerkingen-otel inzage --destinations`


@dataclasses.dataclass(frozen=True)
class Log:
    """One verwerkingenlog of the demo: its name, where it listens, and its manager's secret."""

    name: str
    port: int
    beheer_secret: str

    @property
    def site(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.site}/api/v1"

    @property
    def secret_env(self) -> str:
        """The variable that holds the manager's secret for the Inzage destinations file."""
        return self.name.upper().replace("-", "_") + "_BEHEER_SECRET"


class DemoFailed(Exception):
    """A step did not do what it should; the message says which and why."""


def step(n: int, text: str) -> None:
    print(f"\n[{n}/{STEPS}] {text}", flush=True)


def say(text: str = "") -> None:
    print(f"      {text}" if text else "", flush=True)


def base_env() -> dict[str, str]:
    """Only our own settings reach the services: none of the caller's VERWERKINGEN_* leak in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("VERWERKINGEN_")}
    base["PYTHONUNBUFFERED"] = "1"
    return base


class Logs:
    """Both logs read as one by their managers: reading asks each, PATCH goes to the log that holds it."""

    def __init__(self, logs: Sequence[Log]) -> None:
        self.logs = {log.name: log for log in logs}
        self.clients = {log.name: VerwerkingenlogClient(log.api_url, client_id="beheer", secret=log.beheer_secret)
                        for log in logs}
        self.where: dict[str, str] = {}  # actieId and verwerkingId -> the log that holds it

    def list(self, **filters: Any) -> Iterable[VastgelegdeActie]:
        for name, client in self.clients.items():
            for actie in client.list(**filters):
                self.where[actie.actie_id] = name
                if actie.verwerking_id:
                    self.where[actie.verwerking_id] = name
                yield actie

    def patch(self, verwerking_id: str, **values: Any) -> None:
        self.clients[self.where[verwerking_id]].patch(verwerking_id, **values)

    def __enter__(self) -> Logs:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients.values():
            client.close()


def show_logboek(log_base: str, secret: str, key_file: Path, bsn: str) -> None:
    """The lezen API by pseudonym: what the BRP wrote about this person as LDV logregels."""
    pseudonym = load_key(key_file).pseudonym("BSN", bsn)
    say(f"verwerkingen-otel ldv pseudonym --key-file brp-ldv.key --bsn {bsn}")
    say(f"    {pseudonym}")
    say(f'POST /lezen/v1/processing-activities  {{"dpl.core.data_subject_id": "{pseudonym[:12]}…"}}')
    token = jwt_hs256({"client_id": "beheer", "iat": int(time.time())}, secret)
    response = httpx.post(f"{log_base}/lezen/v1/processing-activities", json={"dpl.core.data_subject_id": pseudonym},
                          headers={"Authorization": f"Bearer {token}"}, timeout=15.0)
    if response.status_code != 200:
        raise DemoFailed(f"the lezen API answered {response.status_code}: {response.text[:200]}")
    regels = response.json()["processingActivities"]
    say(f"{len(regels)} logregel(s), sent by the BRP provider over OTLP; the person is a pseudonym, no BSN")
    say()
    header = f"{'startTime':<21}{'name':<30}{'status':<8}{'traceId':<10}{'processor (the caller)':<32}activity"
    say(header)
    say("-" * len(header))
    for r in regels:
        started = dt.datetime.fromtimestamp(r["startTime"] / 1000).strftime("%Y-%m-%d %H:%M:%S")
        attributes = r["attributes"]
        say(f"{started:<21}{r['name']:<30}{r['status']:<8}{r['traceId'][:8]:<10}"
            f"{attributes.get('dpl.core.foreign_operation.processor', '-'):<32}"
            f"{attributes.get('dpl.core.processing_activity_id', '-')}")
    if ([r["name"] for r in regels] != ["Verstrekken persoonsgegevens"] or bsn in response.text
            or regels[0]["attributes"].get("dpl.core.foreign_operation.processor") != f"urn:oin:{GEMEENTE_OIN}"):
        raise DemoFailed("the lezen API did not return the BRP's one logregel about this person")
    say()
    say("The same annotation fed both standards: the VNG action above and this logregel, in one trace")
    say(f"with the gemeente's call (parentSpanId {regels[0].get('parentSpanId', '-')}: its outbound request).")


def send_requests(base: str) -> dict[str, str]:
    """The handful of requests; returns the zaak id per zaaktype."""
    zaken: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=15.0) as http:
        def call(method: str, path: str, label: str, *, json: Any = None,
                 describe: Callable[[Any], str] = lambda body: "") -> Any:
            response = http.request(method, path, json=json)
            if response.status_code >= 400:
                raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
            body = response.json()
            say(f"{label:<52} {response.status_code}  {describe(body)}")
            return body

        call("GET", "/burgers?achternaam=Jansen", "GET  /burgers?achternaam=Jansen   (a search)",
             describe=lambda b: f"{len(b['personen'])} hits: " + ", ".join(p["naam"] for p in b["personen"]))
        call("GET", f"/burgers/{BSNS[0]}", f"GET  /burgers/{BSNS[0]}",
             describe=lambda b: f"{b['voornamen']} {b['achternaam']}")
        for zaaktype, bsn, note in (("verhuizing", BSNS[3], ""), ("adresonderzoek", INZAGE_BSN, " vertrouwelijk")):
            body = call("POST", "/zaken", f"POST /zaken  {zaaktype:<15} {bsn}{note}",
                        json={"zaaktype": zaaktype, "bsn": bsn}, describe=lambda b: f"zaak {b['zaak']}")
            zaken[zaaktype] = body["zaak"]
    return zaken


def recorded_actions(client: Logs) -> list[VastgelegdeActie]:
    """Every current action about the demo's persons in both logs, each once, with all its objects, in time order."""
    by_id: dict[str, VastgelegdeActie] = {}
    objects: dict[str, list[VerwerktObject]] = defaultdict(list)
    for bsn in BSNS:
        for actie in client.list(soort_object_id="BSN", object_id=bsn):
            by_id.setdefault(actie.actie_id, actie)
            objects[actie.actie_id].extend(actie.verwerkte_objecten)  # the list shows the asked person only
    acties = [dataclasses.replace(by_id[i], verwerkte_objecten=tuple(objects[i])) for i in by_id]
    return sorted(acties, key=lambda a: a.tijdstip)


def short(value: str | None) -> str:
    return value[:8] if value else "-"


def activity_names(api_url: str) -> dict[str, str]:
    """id -> naam of every activity in the log's register (the public VAR API, no token)."""
    names: dict[str, str] = {}
    url: str | None = f"{api_url}/verwerkingsactiviteiten"
    while url:
        page = httpx.get(url, timeout=10.0).json()
        names.update({a["id"]: a["naam"] for a in page["results"]})
        url = page["next"]
    return names


def show_actions(acties: list[VastgelegdeActie], logs: Logs, names: dict[str, str]) -> None:
    counts = {name: sum(logs.where[a.actie_id] == name for a in acties) for name in logs.logs}
    say(f"{len(acties)} verwerkingsacties, read from both logs ("
        + ", ".join(f"{name}: {count}" for name, count in counts.items()) + ").")
    say("Each BRP action names the gemeente as afnemer (afnemerId = its OIN) and carries the gemeente's")
    say("verwerkingId and activity as verwerkingIdAfnemer / activiteit afnemer: the chain spans two logs.")
    say()
    header = (f"{'#':>2}  {'log':<14}{'systeem':<10}{'actieNaam':<30}{'vertrouwelijkheid':<19}{'verwerkingId':<14}"
              f"{'afnemerId':<22}verwerkingIdAfnemer")
    say(header)
    say("-" * len(header))
    for n, a in enumerate(acties, 1):
        say(f"{n:>2}  {logs.where[a.actie_id]:<14}{SYSTEEM.get(a.systeem or '', a.systeem or '-'):<10}"
            f"{a.actie_naam or '-':<30}"
            f"{a.vertrouwelijkheid.value:<19}{short(a.verwerking_id):<14}{a.afnemer_id or '-':<22}"
            f"{short(a.verwerking_id_afnemer)}")
        say(f"{'':<28}personen: {persons(a.verwerkte_objecten)}")
        say(f"{'':<28}activiteit: {names.get(a.verwerkingsactiviteit_id or '', '(not in the register)')}")
        if a.verwerkingsactiviteit_url_afnemer:
            say(f"{'':<28}activiteit afnemer: {a.verwerkingsactiviteit_url_afnemer}")


def persons(objecten: Iterable[VerwerktObject]) -> str:
    """`999993653, 999995017 (Getoond in zoekresultaat)`: BSNs grouped by betrokkenheid."""
    groups: dict[str, list[str]] = defaultdict(list)
    for obj in objecten:
        groups[obj.betrokkenheid or "-"].append(obj.object_id)
    return "; ".join(f"{', '.join(ids)} ({rol})" for rol, ids in groups.items())


def check_counts(acties: list[VastgelegdeActie], expected: dict[tuple[str, str], int]) -> None:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for a in acties:
        counts[(SYSTEEM.get(a.systeem or "", "?"), a.actie_naam or "")] += 1
    if dict(counts) != expected:
        raise DemoFailed(f"the log holds other actions than the requests made: {dict(counts)}, expected {expected}")
    say()
    say(f"all {sum(expected.values())} actions arrived: nothing was lost between the services and their logs")


def check_logs(acties: list[VastgelegdeActie], logs: Logs) -> None:
    """Each side's actions are in its own organisation's log, and only there."""
    for a in acties:
        side = SYSTEEM.get(a.systeem or "", "?")
        if logs.where[a.actie_id] != LOG_OF.get(side):
            raise DemoFailed(f"{side}'s action {a.actie_naam!r} is in {logs.where[a.actie_id]}, not in {LOG_OF.get(side)}")
    say(f"each side in its own log: the gemeente's actions in {GEMEENTE_LOG}, the BRP's in {BRP_LOG}")


def check_chain(acties: list[VastgelegdeActie]) -> None:
    """Every BRP action was asked for by one gemeente action: same verwerking, same confidentiality."""
    gemeente = {a.verwerking_id: a for a in acties if SYSTEEM.get(a.systeem or "") == "gemeente"}
    for a in acties:
        if SYSTEEM.get(a.systeem or "") != "BRP":
            continue
        caller = gemeente.get(a.verwerking_id_afnemer)
        if a.afnemer_id != GEMEENTE_OIN or caller is None or a.vertrouwelijkheid != caller.vertrouwelijkheid:
            raise DemoFailed(f"BRP action {a.actie_naam!r} does not carry the gemeente's afnemer fields")


def lift_confidentiality(client: Logs, zaak: str) -> None:
    """The gemeente's zaak and the BRP's verwerking for it (found by verwerkingIdAfnemer) both, each in its log."""
    before = [a for a in client.list(soort_object_id="BSN", object_id=INZAGE_BSN)
              if zaak in (a.verwerking_id, a.verwerking_id_afnemer)]
    targets = {a.verwerking_id: a for a in before if a.verwerking_id}
    say("The gemeente lifts its zaak in its log; the BRP the verwerking it recorded for that zaak (its")
    say("verwerkingIdAfnemer) in the BRP's log: each log's manager patches its own log.")
    for verwerking_id, a in targets.items():
        side = SYSTEEM.get(a.systeem or "", "?")
        say(f"{client.where[verwerking_id]:<14}PATCH /verwerkingsacties?verwerkingId={verwerking_id}  "
            f"{{\"vertrouwelijkheid\": \"opgeheven\"}}  ({side})")
        client.patch(verwerking_id, vertrouwelijkheid="opgeheven")
    after = {(a.systeem, a.actie_naam): a for a in client.list(soort_object_id="BSN", object_id=INZAGE_BSN)
             if a.verwerking_id in targets}
    say()
    for a in before:
        now = after.get((a.systeem, a.actie_naam))
        status = now.vertrouwelijkheid.value if now else "missing"
        say(f"{SYSTEEM.get(a.systeem or '', '?'):<10}{a.actie_naam or '-':<30}{a.vertrouwelijkheid.value} → {status}"
            f"   (new version {short(now.actie_id) if now else '-'}, was {short(a.actie_id)}; "
            f"in {client.where.get(now.actie_id, '?') if now else '-'})")
        if (a.vertrouwelijkheid.value != "vertrouwelijk" or status != "opgeheven"
                or client.where.get(now.actie_id if now else "") != client.where[a.actie_id]):
            raise DemoFailed("the confidentiality of the investigation was not lifted")
    if len(before) != 2:
        raise DemoFailed(f"expected the investigation's 2 actions (gemeente and BRP), found {len(before)}")


def show_inzage(tmp: Path, logs: Logs, bsn: str) -> None:
    """The person's Inzage across both logs: the real `verwerkingen-otel inzage --destinations` command."""
    today = dt.date.today()
    begin, end = today - dt.timedelta(days=1), today + dt.timedelta(days=2)
    (tmp / INZAGE_FILE).write_text(
        "# The logs to ask for an Inzage, each with its manager's credentials (secrets in the environment).\n"
        + "\n".join(f'[destinations.{log.name}]\napi_url = "{log.api_url}"\nclient_id = "beheer"\n'
                    f'secret_env = "{log.secret_env}"\n' for log in logs.logs.values()), encoding="utf-8")
    command = ["inzage", "--bsn", bsn, "--from", str(begin), "--to", str(end), "--destinations", INZAGE_FILE, "--json"]
    say(f"{INZAGE_FILE} names both logs; then, with {' and '.join(log.secret_env for log in logs.logs.values())} set:")
    say(f"verwerkingen-otel {' '.join(command)}")
    say(f"(each log is asked GET /verwerkte-objecten?objecttype=persoon&soortObjectId=BSN&objectId={bsn}"
        f"&beginDatum={begin}&eindDatum={end})")
    env = {**base_env(), **{log.secret_env: log.beheer_secret for log in logs.logs.values()}}
    try:
        done = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", *command], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise DemoFailed("verwerkingen-otel inzage did not answer within 60 s") from None
    if done.returncode == 3:  # the CLI's partial result: a log did not answer, named on stderr
        raise DemoFailed(f"the Inzage is partial, a log did not answer: {done.stderr.strip()[-500:]}")
    if done.returncode != 0:
        raise DemoFailed(f"verwerkingen-otel inzage exited with code {done.returncode}: {done.stderr.strip()[-500:]}")
    answer = json.loads(done.stdout)
    answered = {name: log["acties"] for name, log in answer["logs"].items() if log["answered"]}
    say(f"{len(answer['acties'])} results from {len(answered)} logs ("
        + ", ".join(f"{name}: {count}" for name, count in answered.items())
        + "); the Inzage view: no systeem, gebruiker or gegevensbron, never a vertrouwelijk action")
    say()
    header = (f"{'tijdstip':<21}{'actieNaam':<30}{'verwerkingNaam':<31}{'vertrouwelijkheid':<19}{'betrokkenheid':<15}"
              f"{'afnemerId':<22}log")
    say(header)
    say("-" * len(header))
    for a in answer["acties"]:
        tijdstip = dt.datetime.fromisoformat(a["tijdstip"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
        say(f"{tijdstip:<21}{a.get('actieNaam') or '-':<30}{a.get('verwerkingNaam') or '-':<31}"
            f"{a['vertrouwelijkheid']:<19}{a.get('betrokkenheid') or '-':<15}{a.get('afnemerId') or '-':<22}[{a['log']}]")
    found = sorted((a["log"], a.get("actieNaam") or "") for a in answer["acties"])
    if not answer["complete"] or found != [(BRP_LOG, "Verstrekken persoonsgegevens"), (GEMEENTE_LOG, "Aanmaken zaak")]:
        raise DemoFailed(f"the Inzage result is not the investigation's two actions, one in each log: {found}")
    logged = {name: [a for a in client.list(soort_object_id="BSN", object_id=bsn)
                     if a.actie_naam == "Inzage verwerkingenlog"] for name, client in logs.clients.items()}
    if any(len(found) != 1 for found in logged.values()):
        raise DemoFailed(f"expected each log to record the Inzage call once: {({n: len(f) for n, f in logged.items()})}")
    say()
    say("Reading a log is a processing too: each of the 2 logs recorded this Inzage once, as 'Inzage verwerkingenlog'")


def show_pages(site: str, api_url: str, password: str) -> None:
    """Where to look, after checking that each page answers."""
    register = httpx.get(f"{site}/register", timeout=10.0)
    inzage = httpx.get(f"{site}/inzage", timeout=10.0)
    var = httpx.get(f"{api_url}/verwerkingsactiviteiten", timeout=10.0)
    if register.status_code != 200 or inzage.status_code != 200 or var.status_code != 200:
        raise DemoFailed(f"the pages do not answer: /register {register.status_code}, /inzage {inzage.status_code}, "
                         f"VAR API {var.status_code}")
    count = var.json()["count"]
    say("Both services annotated their actions by activity name; the gemeente's log serves the register,")
    say(f"{count} activities (the BRP provider read the same register file itself). Every change is kept")
    say("as a version: each action is explained by the activity as it was then.")
    say()
    say(f"{'the register (VAR API)':<26}{api_url}/verwerkingsactiviteiten")
    say(f"{'for citizens':<26}{site}/register")
    say(f"{'for the privacy officer':<26}{site}/inzage   user {PRIVACY_USER}, password {password}")
    say(f"{'':<26}(search BSN {INZAGE_BSN} from yesterday to today: the gemeente's side of the investigation)")
