"""The main-job demo (`./scripts/demo`): the whole story of verwerkingen-otel on one machine.

1. start the embedded verwerkingenlog (`verwerkingen-otel serve`, SQLite in a temporary
   directory, a generated clients file with random secrets), a BRP-like provider (Flask on
   werkzeug) and a gemeente's zaak system (FastAPI on uvicorn) that calls it — both configured
   only by VERWERKINGEN_* environment variables;
2. send the gemeente a handful of requests: a search with several hits, a lookup, a zaak, and a
   confidential zaak (an address investigation);
3. stop both services, so each hands everything in its outbox to the log;
4. show the recorded actions of both sides of the chain, with the afnemer fields;
5. lift the confidentiality of the investigation with PATCH, as the log's manager;
6. show what the person concerned sees through the Inzage API;
7. Logboek Dataverwerkingen: the BRP provider also wrote LDV logregels to the log's OTLP endpoint
   (`exporters=api,ldv`, pseudonymised subjects); look that person up through the lezen API;
8. point at the log's register of processing activities (the services annotate by activity
   name, resolved in that register through the log's VAR API) and its two transparency pages:
   /register for citizens and /inzage for the privacy officer (a user with a random password);

and exit leaving nothing running, whatever happens (Ctrl-C included). Exit code 0 only when
every step succeeded. `--keep-running` leaves the log up after the story, until Ctrl-C, so the
pages can be opened. Options let a test break a step on purpose (a port already in use).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterable, Sequence

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "chain"))

from processes import Service, ServiceError, free_port  # noqa: E402

from verwerkingen_otel import VerwerkingenlogClient  # noqa: E402
from verwerkingen_otel.client import VastgelegdeActie, jwt_hs256  # noqa: E402
from verwerkingen_otel.ldv import load_key  # noqa: E402
from verwerkingen_otel.model import VerwerktObject, check_bsn  # noqa: E402

HOST = "127.0.0.1"
GEMEENTE_OIN = "00000001999999999000"  # made up: 20 digits, like every OIN
BRP_OIN = "00000004999999999000"
# Official test BSNs (they pass the 11-test and belong to nobody); the provider knows these five.
BSNS = ("999993653", "999995017", "999990019", "999991905", "999992004")
INZAGE_BSN = "999992004"  # the person whose address is investigated (the confidential zaak)
SYSTEEM = {"Zaaksysteem Voorbeeldstad": "gemeente", "BRP-bevragen (voorbeeld)": "BRP"}
STEPS = 8
REGISTER_FILE = HERE / "chain" / "register.toml"
PRIVACY_USER = "privacy"


class DemoFailed(Exception):
    """A step did not do what it should; the message says which and why."""


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP: stop everything and leave (exit code 128 + the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    services: list[Service] = []
    started = time.monotonic()
    print("verwerkingen-otel demo: a gemeente's zaak system (FastAPI) asks a BRP-like register (Flask);\n"
          "both record every processing of personal data in one embedded verwerkingenlog\n"
          "(in real life each organisation keeps its own log).\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="verwerkingen-demo-") as tmp:
        print(f"working directory {tmp} (removed at the end)", flush=True)
        try:
            run(args, Path(tmp), services)
        except DemoFailed as exc:
            print(f"\nDEMO FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
        except Interrupted as exc:
            print(f"\ninterrupted ({exc}): stopping everything", file=sys.stderr, flush=True)
            return 128 + exc.signum
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # the clean-up itself is not interrupted
            stop_all(services)
    print(f"\nDone in {time.monotonic() - started:.1f} s. Nothing is left running; the temporary "
          "directory is removed.", flush=True)
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("log", "provider", "consumer"):
        parser.add_argument(f"--{name}-port", type=int, default=0, metavar="PORT",
                            help=f"port of the {name} (default: a free one)")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the log (and its /register and /inzage pages) up until Ctrl-C")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def step(n: int, text: str) -> None:
    print(f"\n[{n}/{STEPS}] {text}", flush=True)


def say(text: str = "") -> None:
    print(f"      {text}" if text else "", flush=True)


# --- the story --------------------------------------------------------------------------------


def run(args: argparse.Namespace, tmp: Path, services: list[Service]) -> None:
    for bsn in BSNS:
        check_bsn(bsn)  # the demo's own data obeys the rules it demonstrates
    secrets_ = {name: secrets.token_urlsafe(32) for name in ("gemeente", "brp", "beheer")}
    ports = {name: getattr(args, f"{name}_port") or free_port(HOST) for name in ("log", "provider", "consumer")}
    api_url = f"http://{HOST}:{ports['log']}/api/v1"

    step(1, "Starting the verwerkingenlog, the BRP provider and the gemeente's zaak system")
    password = secrets.token_urlsafe(12)
    add_privacy_user(tmp / "users.toml", password)
    log, provider, consumer = make_services(tmp, ports, api_url, secrets_)
    say(f"verwerkingenlog  {api_url}  (SQLite in the working directory; register: examples/chain/register.toml)")
    say(f"BRP provider     http://{HOST}:{ports['provider']}  (Flask on werkzeug)")
    say(f"gemeente         http://{HOST}:{ports['consumer']}  (FastAPI on uvicorn)")
    t0 = time.monotonic()
    # the log first: both services read the register of processing activities from its VAR API
    for group in ((log,), (provider, consumer)):
        for service in group:  # the services start in parallel
            services.append(service)
            service.start()
        for service in group:
            say(f"waiting for {service.name} ...")
            try:
                service.wait_ready()
            except ServiceError as exc:
                raise DemoFailed(str(exc)) from None
    say(f"all three answer ({time.monotonic() - t0:.1f} s)")

    step(2, "Sending requests to the gemeente (each call asks the BRP on the way)")
    zaken = send_requests(f"http://{HOST}:{ports['consumer']}")

    step(3, "Stopping both services: each hands everything in its outbox to the log first")
    for service in (consumer, provider):
        t0 = time.monotonic()
        code = service.stop()
        if code not in (0, -signal.SIGTERM):  # uvicorn re-raises SIGTERM after its graceful shutdown
            raise DemoFailed(f"{service.name} did not stop cleanly (exit code {code}):\n{service.log_tail()}")
        say(f"{service.name} stopped ({time.monotonic() - t0:.1f} s)")

    with VerwerkingenlogClient(api_url, client_id="beheer", secret=secrets_["beheer"]) as client:
        step(4, "The verwerkingsacties in the log: both sides of the chain")
        acties = recorded_actions(client)
        show_actions(acties, activity_names(api_url))
        expected = {("gemeente", "Zoeken burger"): 1, ("BRP", "Zoeken personen"): 1,
                    ("gemeente", "Raadplegen burger"): 1, ("gemeente", "Aanmaken zaak"): 2,
                    ("BRP", "Verstrekken persoonsgegevens"): 3}
        check_counts(acties, expected)
        check_chain(acties)

        step(5, "Lifting the confidentiality of the address investigation (PATCH, as the log's manager)")
        lift_confidentiality(client, zaken["adresonderzoek"])

        step(6, f"Inzage: what the person with BSN {INZAGE_BSN} sees of the processing of their data")
        show_inzage(client, INZAGE_BSN)

    step(7, f"Logboek Dataverwerkingen: the BRP's logregels about BSN {INZAGE_BSN}, found by pseudonym")
    show_logboek(f"http://{HOST}:{ports['log']}", secrets_["beheer"], tmp / "brp-ldv.key", INZAGE_BSN)
    step(8, "The register of processing activities and the transparency pages")
    show_pages(f"http://{HOST}:{ports['log']}", api_url, password)
    if args.keep_running:
        keep_running()
    else:
        say()
        say("To open them: ./scripts/demo --keep-running (the log stays up until Ctrl-C).")


def make_services(tmp: Path, ports: dict[str, int], api_url: str,
                  secrets_: dict[str, str]) -> tuple[Service, Service, Service]:
    clients = tmp / "clients.toml"
    clients.write_text(
        f'[clients.gemeente]\nsecret = "{secrets_["gemeente"]}"\nscopes = ["create:confidential"]\n\n'
        f'[clients.brp]\nsecret = "{secrets_["brp"]}"\nscopes = ["create:confidential"]\n\n'
        f'[clients.beheer]\nsecret = "{secrets_["beheer"]}"\nscopes = ["read:confidential", "update:confidential"]\n',
        encoding="utf-8",
    )
    clients.chmod(0o600)
    # Only our own settings reach the services: none of the caller's VERWERKINGEN_* leak in.
    base = {k: v for k, v in os.environ.items() if not k.startswith("VERWERKINGEN_")}
    base["PYTHONUNBUFFERED"] = "1"
    python = sys.executable

    def settings(client_id: str, systeem: str, oin: str) -> dict[str, str]:
        return {**base, "VERWERKINGEN_API_URL": api_url, "VERWERKINGEN_CLIENT_ID": client_id,
                "VERWERKINGEN_SECRET": secrets_[client_id], "VERWERKINGEN_EXPORTERS": "api",
                "VERWERKINGEN_DELIVERY": "outbox", "VERWERKINGEN_OUTBOX": str(tmp / f"{client_id}-outbox.db"),
                "VERWERKINGEN_SYSTEEM": systeem, "VERWERKINGEN_OIN": oin, "VERWERKINGEN_UITVOERDER": oin,
                "VERWERKINGEN_REGISTER": api_url}  # the log's VAR API, cached beside the outbox

    log = Service("verwerkingenlog", [
        python, "-m", "verwerkingen_otel.cli", "serve", "--host", HOST, "--port", str(ports["log"]),
        "--database", str(tmp / "verwerkingenlog.db"), "--clients", str(clients), "--log-level", "warning",
        "--register", str(REGISTER_FILE), "--users", str(tmp / "users.toml"),
    ], env=base, log_file=tmp / "log.out", ready_url=f"{api_url}/verwerkingsacties", cwd=tmp)
    provider = Service("BRP provider", [
        python, str(HERE / "chain" / "provider.py"), "--host", HOST, "--port", str(ports["provider"]),
    ], env={**settings("brp", "BRP-bevragen (voorbeeld)", BRP_OIN), **ldv_settings(tmp, ports["log"])},
        log_file=tmp / "provider.out",
        ready_url=f"http://{HOST}:{ports['provider']}/health", cwd=tmp)
    consumer = Service("gemeente", [
        python, "-m", "uvicorn", "--app-dir", str(HERE / "chain"), "consumer:app", "--host", HOST,
        "--port", str(ports["consumer"]), "--no-access-log", "--log-level", "warning",
    ], env={**settings("gemeente", "Zaaksysteem Voorbeeldstad", GEMEENTE_OIN),
            "BRP_API_URL": f"http://{HOST}:{ports['provider']}"},
        log_file=tmp / "consumer.out", ready_url=f"http://{HOST}:{ports['consumer']}/health", cwd=tmp)
    return log, provider, consumer


def ldv_settings(tmp: Path, log_port: int) -> dict[str, str]:
    """The BRP provider also writes Logboek Dataverwerkingen logregels, to the log's OTLP endpoint."""
    key = tmp / "brp-ldv.key"
    key.write_bytes(secrets.token_bytes(32))  # the organisation's pseudonymisation key
    key.chmod(0o600)
    return {"VERWERKINGEN_EXPORTERS": "api,ldv", "VERWERKINGEN_LDV_KEY_FILE": str(key),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{HOST}:{log_port}/v1/traces"}


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


def recorded_actions(client: VerwerkingenlogClient) -> list[VastgelegdeActie]:
    """Every current action about the demo's persons, each once, with all its objects, in time order."""
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


def add_privacy_user(users: Path, password: str) -> None:
    """The privacy officer's account for /inzage, made the documented way (`users add`)."""
    done = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "users", "add", PRIVACY_USER,
                           "--users", str(users), "--role", "inzage-vertrouwelijk", "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise DemoFailed(f"could not create the /inzage user: {done.stderr.strip()}")


def activity_names(api_url: str) -> dict[str, str]:
    """id -> naam of every activity in the log's register (the public VAR API, no token)."""
    names: dict[str, str] = {}
    url: str | None = f"{api_url}/verwerkingsactiviteiten"
    while url:
        page = httpx.get(url, timeout=10.0).json()
        names.update({a["id"]: a["naam"] for a in page["results"]})
        url = page["next"]
    return names


def show_actions(acties: list[VastgelegdeActie], names: dict[str, str]) -> None:
    say(f"{len(acties)} verwerkingsacties. Each BRP action names the gemeente as afnemer (afnemerId = its OIN)")
    say("and carries the gemeente's verwerkingId and activity as verwerkingIdAfnemer / activiteit afnemer.")
    say()
    header = (f"{'#':>2}  {'systeem':<10}{'actieNaam':<30}{'vertrouwelijkheid':<19}{'verwerkingId':<14}"
              f"{'afnemerId':<22}verwerkingIdAfnemer")
    say(header)
    say("-" * len(header))
    for n, a in enumerate(acties, 1):
        say(f"{n:>2}  {SYSTEEM.get(a.systeem or '', a.systeem or '-'):<10}{a.actie_naam or '-':<30}"
            f"{a.vertrouwelijkheid.value:<19}{short(a.verwerking_id):<14}{a.afnemer_id or '-':<22}"
            f"{short(a.verwerking_id_afnemer)}")
        say(f"{'':<14}personen: {persons(a.verwerkte_objecten)}")
        say(f"{'':<14}activiteit: {names.get(a.verwerkingsactiviteit_id or '', '(not in the register)')}")
        if a.verwerkingsactiviteit_url_afnemer:
            say(f"{'':<14}activiteit afnemer: {a.verwerkingsactiviteit_url_afnemer}")


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
    say(f"all {sum(expected.values())} actions arrived: nothing was lost between the services and the log")


def check_chain(acties: list[VastgelegdeActie]) -> None:
    """Every BRP action was asked for by one gemeente action: same verwerking, same confidentiality."""
    gemeente = {a.verwerking_id: a for a in acties if SYSTEEM.get(a.systeem or "") == "gemeente"}
    for a in acties:
        if SYSTEEM.get(a.systeem or "") != "BRP":
            continue
        caller = gemeente.get(a.verwerking_id_afnemer)
        if a.afnemer_id != GEMEENTE_OIN or caller is None or a.vertrouwelijkheid != caller.vertrouwelijkheid:
            raise DemoFailed(f"BRP action {a.actie_naam!r} does not carry the gemeente's afnemer fields")


def lift_confidentiality(client: VerwerkingenlogClient, zaak: str) -> None:
    """The gemeente's zaak and the BRP's verwerking for it (found by verwerkingIdAfnemer) both."""
    before = [a for a in client.list(soort_object_id="BSN", object_id=INZAGE_BSN)
              if zaak in (a.verwerking_id, a.verwerking_id_afnemer)]
    targets = {a.verwerking_id: a for a in before if a.verwerking_id}
    say("The gemeente lifts its zaak; the BRP the verwerking it recorded for that zaak (its verwerkingIdAfnemer).")
    for verwerking_id, a in targets.items():
        side = SYSTEEM.get(a.systeem or "", "?")
        say(f"PATCH /verwerkingsacties?verwerkingId={verwerking_id}  {{\"vertrouwelijkheid\": \"opgeheven\"}}  ({side})")
        client.patch(verwerking_id, vertrouwelijkheid="opgeheven")
    after = {(a.systeem, a.actie_naam): a for a in client.list(soort_object_id="BSN", object_id=INZAGE_BSN)
             if a.verwerking_id in targets}
    say()
    for a in before:
        now = after.get((a.systeem, a.actie_naam))
        status = now.vertrouwelijkheid.value if now else "missing"
        say(f"{SYSTEEM.get(a.systeem or '', '?'):<10}{a.actie_naam or '-':<30}{a.vertrouwelijkheid.value} → {status}"
            f"   (new version {short(now.actie_id) if now else '-'}, was {short(a.actie_id)})")
        if a.vertrouwelijkheid.value != "vertrouwelijk" or status != "opgeheven":
            raise DemoFailed("the confidentiality of the investigation was not lifted")
    if len(before) != 2:
        raise DemoFailed(f"expected the investigation's 2 actions (gemeente and BRP), found {len(before)}")


def show_inzage(client: VerwerkingenlogClient, bsn: str) -> None:
    today = dt.date.today()
    say(f"GET /verwerkte-objecten?objecttype=persoon&soortObjectId=BSN&objectId={bsn}"
        f"&beginDatum={today - dt.timedelta(days=1)}&eindDatum={today + dt.timedelta(days=2)}")
    results = list(client.inzage_list(soort_object_id="BSN", object_id=bsn,
                                      begin_datum=today - dt.timedelta(days=1), eind_datum=today + dt.timedelta(days=2)))
    say(f"{len(results)} results (the Inzage view: no systeem, gebruiker or gegevensbron; never a vertrouwelijk action)")
    say()
    header = f"{'tijdstip':<21}{'actieNaam':<30}{'verwerkingNaam':<31}{'vertrouwelijkheid':<19}{'betrokkenheid':<15}afnemerId"
    say(header)
    say("-" * len(header))
    for r in sorted(results, key=lambda r: r.verwerkingsactie.tijdstip):
        a = r.verwerkingsactie
        say(f"{a.tijdstip.strftime('%Y-%m-%d %H:%M:%S'):<21}{a.actie_naam or '-':<30}{a.verwerking_naam or '-':<31}"
            f"{a.vertrouwelijkheid.value:<19}{r.object.betrokkenheid or '-':<15}{a.afnemer_id or '-'}")
    names = sorted(r.verwerkingsactie.actie_naam or "" for r in results)
    if names != ["Aanmaken zaak", "Verstrekken persoonsgegevens"] or any(r.object.object_id != bsn for r in results):
        raise DemoFailed(f"the Inzage result is not the investigation's two actions: {names}")
    logged = [a for a in client.list(soort_object_id="BSN", object_id=bsn) if a.actie_naam == "Inzage verwerkingenlog"]
    say()
    say(f"Reading the log is a processing too: the log recorded this Inzage as '{logged[0].actie_naam}'"
        if len(logged) == 1 else "")
    if len(logged) != 1:
        raise DemoFailed(f"expected the log to record the Inzage call once, found {len(logged)}")


def show_pages(site: str, api_url: str, password: str) -> None:
    """Where to look, after checking that each page answers."""
    register = httpx.get(f"{site}/register", timeout=10.0)
    inzage = httpx.get(f"{site}/inzage", timeout=10.0)
    var = httpx.get(f"{api_url}/verwerkingsactiviteiten", timeout=10.0)
    if register.status_code != 200 or inzage.status_code != 200 or var.status_code != 200:
        raise DemoFailed(f"the pages do not answer: /register {register.status_code}, /inzage {inzage.status_code}, "
                         f"VAR API {var.status_code}")
    count = var.json()["count"]
    say(f"Both services annotated their actions by activity name; the log's register holds {count} activities")
    say("(every change is kept as a version: each action is explained by the activity as it was then).")
    say()
    say(f"{'the register (VAR API)':<26}{api_url}/verwerkingsactiviteiten")
    say(f"{'for citizens':<26}{site}/register")
    say(f"{'for the privacy officer':<26}{site}/inzage   user {PRIVACY_USER}, password {password}")
    say(f"{'':<26}(search BSN {INZAGE_BSN} from yesterday to today: the address investigation)")


def keep_running() -> None:
    """--keep-running: the log stays up until Ctrl-C (or SIGTERM), then everything stops as usual."""
    say()
    say("The log keeps running (--keep-running): open the pages above; press Ctrl-C to stop.")
    try:
        while True:
            signal.pause()
    except Interrupted:
        print(flush=True)


def stop_all(services: list[Service]) -> None:
    """Stop whatever is still running, newest first; never raises (it runs in `finally`)."""
    for service in reversed(services):
        if service.proc is not None and service.proc.poll() is None:
            print(f"stopping {service.name} ...", flush=True)
        try:
            service.stop()
        except BaseException as exc:  # a second Ctrl-C: keep stopping the rest
            print(f"   could not stop {service.name} cleanly ({type(exc).__name__})", file=sys.stderr)
            if service.proc is not None:
                service.proc.kill()


if __name__ == "__main__":
    sys.exit(main())
