"""The main-job demo (`./scripts/demo`): the whole story of verwerkingen-otel on one machine.

1. start two embedded verwerkingenlogs (`verwerkingen-otel serve`, SQLite in a temporary
   directory, a generated clients file with random secrets): the gemeente's and the BRP's own
   (several logs, docs/destinations.md); a BRP-like provider (Flask on werkzeug) and a gemeente's
   zaak system (FastAPI on uvicorn) that calls it — both configured only by VERWERKINGEN_*
   environment variables, each logging to its own log;
2. send the gemeente a handful of requests: a search with several hits, a lookup, a zaak, and a
   confidential zaak (an address investigation);
3. stop both services, so each hands everything in its outbox to the log;
4. show the recorded actions of both sides of the chain (from both logs), with the afnemer fields;
5. lift the confidentiality of the investigation with PATCH, as the log's manager;
6. show what the person concerned sees through the Inzage API of both logs, merged;

and exit leaving nothing running, whatever happens (Ctrl-C included). Exit code 0 only when
every step succeeded. Options let a test break a step on purpose (a port already in use).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import secrets
import signal
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
from verwerkingen_otel.client import VastgelegdeActie  # noqa: E402
from verwerkingen_otel.delivery import inzage_across, load_destinations  # noqa: E402
from verwerkingen_otel.model import VerwerktObject, check_bsn  # noqa: E402

HOST = "127.0.0.1"
GEMEENTE_OIN = "00000001999999999000"  # made up: 20 digits, like every OIN
BRP_OIN = "00000004999999999000"
# Official test BSNs (they pass the 11-test and belong to nobody); the provider knows these five.
BSNS = ("999993653", "999995017", "999990019", "999991905", "999992004")
INZAGE_BSN = "999992004"  # the person whose address is investigated (the confidential zaak)
SYSTEEM = {"Zaaksysteem Voorbeeldstad": "gemeente", "BRP-bevragen (voorbeeld)": "BRP"}
STEPS = 6


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
    ports["brplog"] = free_port(HOST)
    api_url = f"http://{HOST}:{ports['log']}/api/v1"
    brp_url = f"http://{HOST}:{ports['brplog']}/api/v1"

    step(1, "Starting two verwerkingenlogs, the BRP provider and the gemeente's zaak system")
    log, brplog, provider, consumer = make_services(tmp, ports, api_url, brp_url, secrets_)
    say(f"verwerkingenlog  {api_url}  (the gemeente's; SQLite in the working directory)")
    say(f"BRP-log          {brp_url}  (the BRP's own verwerkingenlog)")
    say(f"BRP provider     http://{HOST}:{ports['provider']}  (Flask on werkzeug)")
    say(f"gemeente         http://{HOST}:{ports['consumer']}  (FastAPI on uvicorn)")
    t0 = time.monotonic()
    for service in (log, brplog, provider, consumer):  # all four start in parallel
        services.append(service)
        service.start()
    for service in (log, brplog, provider, consumer):
        say(f"waiting for {service.name} ...")
        try:
            service.wait_ready()
        except ServiceError as exc:
            raise DemoFailed(str(exc)) from None
    say(f"all four answer ({time.monotonic() - t0:.1f} s)")

    step(2, "Sending requests to the gemeente (each call asks the BRP on the way)")
    zaken = send_requests(f"http://{HOST}:{ports['consumer']}")

    step(3, "Stopping both services: each hands everything in its outbox to its log first")
    for service in (consumer, provider):
        t0 = time.monotonic()
        code = service.stop()
        if code not in (0, -signal.SIGTERM):  # uvicorn re-raises SIGTERM after its graceful shutdown
            raise DemoFailed(f"{service.name} did not stop cleanly (exit code {code}):\n{service.log_tail()}")
        say(f"{service.name} stopped ({time.monotonic() - t0:.1f} s)")

    with Logs({"gemeente-log": api_url, "BRP-log": brp_url}, secrets_["beheer"]) as client:
        step(4, "The verwerkingsacties in both logs: both sides of the chain")
        acties = recorded_actions(client)
        show_actions(acties)
        expected = {("gemeente", "Zoeken burger"): 1, ("BRP", "Zoeken personen"): 1,
                    ("gemeente", "Raadplegen burger"): 1, ("gemeente", "Aanmaken zaak"): 2,
                    ("BRP", "Verstrekken persoonsgegevens"): 3}
        check_counts(acties, expected)
        check_chain(acties)

        step(5, "Lifting the confidentiality of the address investigation (PATCH, as the log's manager)")
        lift_confidentiality(client, zaken["adresonderzoek"])

        step(6, f"Inzage: what the person with BSN {INZAGE_BSN} sees of the processing of their data")
        show_inzage(tmp, client, INZAGE_BSN, secrets_["beheer"])


class Logs:
    """The two logs read as one (the demo's manager may read both): list and patch go to each."""

    def __init__(self, urls: dict[str, str], secret: str) -> None:
        self.urls = urls
        self.clients = {name: VerwerkingenlogClient(url, client_id="beheer", secret=secret)
                        for name, url in urls.items()}
        self.where: dict[str, str] = {}  # verwerkingId -> the log that holds it

    def list(self, **filters: Any) -> Iterable[VastgelegdeActie]:
        for name, client in self.clients.items():
            for actie in client.list(**filters):
                self.where.setdefault(actie.verwerking_id or "", name)
                yield actie

    def patch(self, verwerking_id: str, **values: Any) -> None:
        self.clients[self.where[verwerking_id]].patch(verwerking_id, **values)

    def __enter__(self) -> "Logs":
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients.values():
            client.close()


def make_services(tmp: Path, ports: dict[str, int], api_url: str, brp_url: str,
                  secrets_: dict[str, str]) -> tuple[Service, Service, Service, Service]:
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

    def settings(client_id: str, systeem: str, oin: str, url: str) -> dict[str, str]:
        return {**base, "VERWERKINGEN_API_URL": url, "VERWERKINGEN_CLIENT_ID": client_id,
                "VERWERKINGEN_SECRET": secrets_[client_id], "VERWERKINGEN_EXPORTERS": "api",
                "VERWERKINGEN_DELIVERY": "outbox", "VERWERKINGEN_OUTBOX": str(tmp / f"{client_id}-outbox.db"),
                "VERWERKINGEN_SYSTEEM": systeem, "VERWERKINGEN_OIN": oin, "VERWERKINGEN_UITVOERDER": oin}

    log = Service("verwerkingenlog", [
        python, "-m", "verwerkingen_otel.cli", "serve", "--host", HOST, "--port", str(ports["log"]),
        "--database", str(tmp / "verwerkingenlog.db"), "--clients", str(clients), "--log-level", "warning",
    ], env=base, log_file=tmp / "log.out", ready_url=f"{api_url}/verwerkingsacties", cwd=tmp)
    brplog = Service("BRP-log", [
        python, "-m", "verwerkingen_otel.cli", "serve", "--host", HOST, "--port", str(ports["brplog"]),
        "--database", str(tmp / "brp-log.db"), "--clients", str(clients), "--log-level", "warning",
    ], env=base, log_file=tmp / "brp-log.out", ready_url=f"{brp_url}/verwerkingsacties", cwd=tmp)
    provider = Service("BRP provider", [
        python, str(HERE / "chain" / "provider.py"), "--host", HOST, "--port", str(ports["provider"]),
    ], env=settings("brp", "BRP-bevragen (voorbeeld)", BRP_OIN, brp_url), log_file=tmp / "provider.out",
        ready_url=f"http://{HOST}:{ports['provider']}/health", cwd=tmp)
    consumer = Service("gemeente", [
        python, "-m", "uvicorn", "--app-dir", str(HERE / "chain"), "consumer:app", "--host", HOST,
        "--port", str(ports["consumer"]), "--no-access-log", "--log-level", "warning",
    ], env={**settings("gemeente", "Zaaksysteem Voorbeeldstad", GEMEENTE_OIN, api_url),
            "BRP_API_URL": f"http://{HOST}:{ports['provider']}"},
        log_file=tmp / "consumer.out", ready_url=f"http://{HOST}:{ports['consumer']}/health", cwd=tmp)
    return log, brplog, provider, consumer


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


def show_actions(acties: list[VastgelegdeActie]) -> None:
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
    say(f"all {sum(expected.values())} actions arrived: nothing was lost between the services and their logs")


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


def show_inzage(tmp: Path, logs: Logs, bsn: str, secret: str) -> None:
    """The person's Inzage across both logs, as `verwerkingen-otel inzage --destinations` does it."""
    today = dt.date.today()
    begin, end = today - dt.timedelta(days=1), today + dt.timedelta(days=2)
    path = tmp / "destinations.toml"
    path.write_text("".join(f'[destinations.{name}]\napi_url = "{url}"\nclient_id = "beheer"\n'
                            f'secret_env = "BEHEER_SECRET"\n' for name, url in logs.urls.items()), encoding="utf-8")
    say(f"verwerkingen-otel inzage --bsn {bsn} --from {begin} --to {end} --destinations destinations.toml")
    say(f"asks each log: GET /verwerkte-objecten?objecttype=persoon&soortObjectId=BSN&objectId={bsn}"
        f"&beginDatum={begin}&eindDatum={end}")
    result = inzage_across(load_destinations(str(path), environ={"BEHEER_SECRET": secret}), bsn, begin, end)
    if not result.complete:
        raise DemoFailed(f"the Inzage is partial: {', '.join(result.missing)} did not answer")
    say(f"{len(result.acties)} results from {len(result.counts)} logs (the Inzage view: no systeem, gebruiker or "
        "gegevensbron; never a vertrouwelijk action)")
    say()
    header = (f"{'tijdstip':<21}{'actieNaam':<30}{'verwerkingNaam':<31}{'vertrouwelijkheid':<19}{'betrokkenheid':<15}"
              f"{'afnemerId':<22}log")
    say(header)
    say("-" * len(header))
    for log, a in result.acties:
        tijdstip = dt.datetime.fromisoformat(a["tijdstip"]).strftime("%Y-%m-%d %H:%M:%S")
        say(f"{tijdstip:<21}{a.get('actieNaam') or '-':<30}{a.get('verwerkingNaam') or '-':<31}"
            f"{a['vertrouwelijkheid']:<19}{a.get('betrokkenheid') or '-':<15}{a.get('afnemerId') or '-':<22}[{log}]")
    names = sorted(a.get("actieNaam") or "" for _, a in result.acties)
    if names != ["Aanmaken zaak", "Verstrekken persoonsgegevens"]:
        raise DemoFailed(f"the Inzage result is not the investigation's two actions: {names}")
    logged = {name: [a for a in client.list(soort_object_id="BSN", object_id=bsn)
                     if a.actie_naam == "Inzage verwerkingenlog"] for name, client in logs.clients.items()}
    say()
    if any(len(found) != 1 for found in logged.values()):
        raise DemoFailed(f"expected each log to record the Inzage call once: {({n: len(f) for n, f in logged.items()})}")
    say("Reading the log is a processing too: the log recorded this Inzage as 'Inzage verwerkingenlog' "
        f"(each of the {len(logged)} logs, once)")


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
