"""The main-job demo (`./scripts/demo`): the whole story of verwerkingen-otel on one machine.

1. start two embedded verwerkingenlogs (`verwerkingen-otel serve`, each with its own SQLite file
   in a temporary directory and its own clients file with random secrets): the gemeente's log
   (which also serves the register of processing activities and the transparency pages) and the
   BRP's log (which also takes the BRP's Logboek Dataverwerkingen logregels); then a BRP-like
   provider (Flask on werkzeug) that logs to the BRP's log (VERWERKINGEN_API_URL) and a
   gemeente's zaak system (FastAPI on uvicorn) that calls it and logs to the gemeente's log,
   named in a destinations file (VERWERKINGEN_DESTINATIONS) — both configured only by
   VERWERKINGEN_* environment variables;
2. send the gemeente a handful of requests: a search with several hits, a lookup, a zaak, and a
   confidential zaak (an address investigation);
3. stop both services, so each hands everything in its outbox to its log;
4. read both logs and show the recorded actions of both sides of the chain, each with its log
   and the afnemer fields;
5. lift the confidentiality of the investigation with PATCH, each action in its own log;
6. show what the person concerned sees through the Inzage API of both logs, asked with
   `verwerkingen-otel inzage --destinations` (the real CLI), each result marked with its log;
7. Logboek Dataverwerkingen: the BRP provider also wrote LDV logregels to its log's OTLP
   endpoint (`exporters=api,ldv`, pseudonymised subjects); look that person up through the
   BRP log's lezen API;
8. point at the gemeente log's register of processing activities (the services annotate by
   activity name: the gemeente resolves them through its log's VAR API, the BRP reads the
   register file) and its two transparency pages: /register for citizens and /inzage for the
   privacy officer (a user with a random password);

and exit leaving nothing running, whatever happens (Ctrl-C included). Exit code 0 only when
every step succeeded. `--keep-running` leaves the logs up after the story, until Ctrl-C, so the
pages can be opened. Options let a test break a step on purpose (a port already in use).
This file starts and stops; what each step shows and checks is in chain/steps.py.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "chain"))

from processes import Service, ServiceError, free_port  # noqa: E402
from steps import (  # noqa: E402
    BRP_LOG, BRP_OIN, BSNS, DESTINATIONS_FILE, GEMEENTE_LOG, GEMEENTE_OIN, HOST, INZAGE_BSN, PRIVACY_USER,
    REGISTER_FILE, DemoFailed, Log, Logs, activity_names, base_env, check_chain, check_counts, check_logs,
    lift_confidentiality, recorded_actions, say, send_requests, show_actions, show_inzage, show_logboek, show_pages,
    step,
)

from verwerkingen_otel.model import check_bsn  # noqa: E402


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
          "each records every processing of personal data in its own organisation's verwerkingenlog:\n"
          "two embedded logs, read together for the Inzage.\n", flush=True)
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
    for name, what in (("log", "the gemeente's log"), ("brp-log", "the BRP's log"), ("provider", "the BRP provider"),
                       ("consumer", "the gemeente's zaak system")):
        parser.add_argument(f"--{name}-port", type=int, default=0, metavar="PORT",
                            help=f"port of {what} (default: a free one)")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the logs (and the gemeente log's /register and /inzage pages) up until Ctrl-C")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


# --- the story --------------------------------------------------------------------------------


def run(args: argparse.Namespace, tmp: Path, services: list[Service]) -> None:
    for bsn in BSNS:
        check_bsn(bsn)  # the demo's own data obeys the rules it demonstrates
    secrets_ = {name: secrets.token_urlsafe(32) for name in ("gemeente", "brp", "gemeente-beheer", "brp-beheer")}
    ports = {name: getattr(args, f"{name}_port") or free_port(HOST)
             for name in ("log", "brp_log", "provider", "consumer")}
    gemeente_log = Log(GEMEENTE_LOG, ports["log"], secrets_["gemeente-beheer"])
    brp_log = Log(BRP_LOG, ports["brp_log"], secrets_["brp-beheer"])
    logs = (gemeente_log, brp_log)

    step(1, "Starting two verwerkingenlogs (the gemeente's and the BRP's), the BRP provider and the zaak system")
    password = secrets.token_urlsafe(12)
    add_privacy_user(tmp / "users.toml", password)
    log_services = make_logs(tmp, gemeente_log, brp_log, secrets_)
    provider, consumer = make_services(tmp, ports, gemeente_log, brp_log, secrets_)
    say(f"{GEMEENTE_LOG:<17}{gemeente_log.api_url}  (the gemeente's; register: examples/chain/register.toml)")
    say(f"{BRP_LOG:<17}{brp_log.api_url}  (the BRP's own; also its Logboek Dataverwerkingen)")
    say(f"{'BRP provider':<17}http://{HOST}:{ports['provider']}  (Flask on werkzeug; "
        f"VERWERKINGEN_API_URL = the {BRP_LOG})")
    say(f"{'gemeente':<17}http://{HOST}:{ports['consumer']}  (FastAPI on uvicorn; "
        f"VERWERKINGEN_DESTINATIONS = {DESTINATIONS_FILE})")
    say()
    say(f"{DESTINATIONS_FILE}, the zaak system's destinations file (the secret stays in the environment):")
    for line in (tmp / DESTINATIONS_FILE).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            say(f"    {line}")
    say()
    t0 = time.monotonic()
    # the logs first: the zaak system reads the register of processing activities from its log's VAR API
    for group in (log_services, (provider, consumer)):
        for service in group:  # the services start in parallel
            services.append(service)
            service.start()
        for service in group:
            say(f"waiting for {service.name} ...")
            try:
                service.wait_ready()
            except ServiceError as exc:
                raise DemoFailed(str(exc)) from None
    say(f"all four answer ({time.monotonic() - t0:.1f} s)")

    step(2, "Sending requests to the gemeente (each call asks the BRP on the way)")
    zaken = send_requests(f"http://{HOST}:{ports['consumer']}")

    step(3, "Stopping both services: each hands everything in its outbox to its own log first")
    for service in (consumer, provider):
        t0 = time.monotonic()
        code = service.stop()
        if code not in (0, -signal.SIGTERM):  # uvicorn re-raises SIGTERM after its graceful shutdown
            raise DemoFailed(f"{service.name} did not stop cleanly (exit code {code}):\n{service.log_tail()}")
        say(f"{service.name} stopped ({time.monotonic() - t0:.1f} s)")

    with Logs(logs) as both:
        step(4, "The verwerkingsacties in both logs: both sides of the chain, each in its own log")
        acties = recorded_actions(both)
        show_actions(acties, both, activity_names(gemeente_log.api_url))
        expected = {("gemeente", "Zoeken burger"): 1, ("BRP", "Zoeken personen"): 1,
                    ("gemeente", "Raadplegen burger"): 1, ("gemeente", "Aanmaken zaak"): 2,
                    ("BRP", "Verstrekken persoonsgegevens"): 3}
        check_counts(acties, expected)
        check_logs(acties, both)
        check_chain(acties)

        step(5, "Lifting the confidentiality of the address investigation (PATCH, each in its own log)")
        lift_confidentiality(both, zaken["adresonderzoek"])

        step(6, f"Inzage: what the person with BSN {INZAGE_BSN} sees of the processing of their data, in both logs")
        show_inzage(tmp, both, INZAGE_BSN)

    step(7, f"Logboek Dataverwerkingen: the BRP's logregels about BSN {INZAGE_BSN} in its log, found by pseudonym")
    show_logboek(brp_log.site, brp_log.beheer_secret, tmp / "brp-ldv.key", INZAGE_BSN)
    step(8, "The gemeente's register of processing activities and its transparency pages")
    show_pages(gemeente_log.site, gemeente_log.api_url, password)
    if args.keep_running:
        keep_running()
    else:
        say()
        say("To open them: ./scripts/demo --keep-running (the logs stay up until Ctrl-C).")


def make_logs(tmp: Path, gemeente_log: Log, brp_log: Log, secrets_: dict[str, str]) -> tuple[Service, Service]:
    """Two `verwerkingen-otel serve`, each its own database and clients file (its writer and `beheer`)."""
    made = []
    for log, writer, extra in (
        (gemeente_log, "gemeente", ["--register", str(REGISTER_FILE), "--users", str(tmp / "users.toml")]),
        (brp_log, "brp", []),
    ):
        stem = log.name.lower()
        clients = tmp / f"{stem}.clients.toml"
        clients.write_text(
            f'[clients.{writer}]\nsecret = "{secrets_[writer]}"\nscopes = ["create:confidential"]\n\n'
            f'[clients.beheer]\nsecret = "{log.beheer_secret}"\nscopes = ["read:confidential", "update:confidential"]\n',
            encoding="utf-8",
        )
        clients.chmod(0o600)
        made.append(Service(log.name, [
            sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--host", HOST, "--port", str(log.port),
            "--database", str(tmp / f"{stem}.db"), "--clients", str(clients), "--log-level", "warning", *extra,
        ], env=base_env(), log_file=tmp / f"{stem}.out", ready_url=f"{log.api_url}/verwerkingsacties", cwd=tmp))
    return made[0], made[1]


def make_services(tmp: Path, ports: dict[str, int], gemeente_log: Log, brp_log: Log,
                  secrets_: dict[str, str]) -> tuple[Service, Service]:
    base = base_env()
    python = sys.executable

    def settings(client_id: str, systeem: str, oin: str) -> dict[str, str]:
        return {**base, "VERWERKINGEN_DELIVERY": "outbox", "VERWERKINGEN_OUTBOX": str(tmp / f"{client_id}-outbox.db"),
                "VERWERKINGEN_SYSTEEM": systeem, "VERWERKINGEN_OIN": oin, "VERWERKINGEN_UITVOERDER": oin}

    # The BRP: one log, the classic way (VERWERKINGEN_API_URL); its register is the file itself.
    brp = {**settings("brp", "BRP-bevragen (voorbeeld)", BRP_OIN), "VERWERKINGEN_API_URL": brp_log.api_url,
           "VERWERKINGEN_CLIENT_ID": "brp", "VERWERKINGEN_SECRET": secrets_["brp"],
           "VERWERKINGEN_REGISTER": str(REGISTER_FILE), **ldv_settings(tmp, brp_log)}
    # The gemeente: its log named in a destinations file, the secret in the environment; its
    # register is its log's VAR API (cached beside the outbox).
    destinations = tmp / DESTINATIONS_FILE
    destinations.write_text(
        "# Where the gemeente's zaak system records its verwerkingsacties: the gemeente's own log.\n"
        f'[destinations.{GEMEENTE_LOG}]\napi_url = "{gemeente_log.api_url}"\nclient_id = "gemeente"\n'
        'secret_env = "GEMEENTE_LOG_SECRET"\n\n[[routes]]\ndefault = true\n'
        f'destinations = ["{GEMEENTE_LOG}"]\n', encoding="utf-8")
    gemeente = {**settings("gemeente", "Zaaksysteem Voorbeeldstad", GEMEENTE_OIN),
                "VERWERKINGEN_DESTINATIONS": str(destinations), "GEMEENTE_LOG_SECRET": secrets_["gemeente"],
                "VERWERKINGEN_REGISTER": gemeente_log.api_url, "BRP_API_URL": f"http://{HOST}:{ports['provider']}"}

    provider = Service("BRP provider", [
        python, str(HERE / "chain" / "provider.py"), "--host", HOST, "--port", str(ports["provider"]),
    ], env=brp, log_file=tmp / "provider.out", ready_url=f"http://{HOST}:{ports['provider']}/health", cwd=tmp)
    consumer = Service("gemeente", [
        python, "-m", "uvicorn", "--app-dir", str(HERE / "chain"), "consumer:app", "--host", HOST,
        "--port", str(ports["consumer"]), "--no-access-log", "--log-level", "warning",
    ], env=gemeente, log_file=tmp / "consumer.out", ready_url=f"http://{HOST}:{ports['consumer']}/health", cwd=tmp)
    return provider, consumer


def ldv_settings(tmp: Path, log: Log) -> dict[str, str]:
    """The BRP provider also writes Logboek Dataverwerkingen logregels, to its log's OTLP endpoint."""
    key = tmp / "brp-ldv.key"
    key.write_bytes(secrets.token_bytes(32))  # the organisation's pseudonymisation key
    key.chmod(0o600)
    return {"VERWERKINGEN_EXPORTERS": "api,ldv", "VERWERKINGEN_LDV_KEY_FILE": str(key),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{log.site}/v1/traces"}


def add_privacy_user(users: Path, password: str) -> None:
    """The privacy officer's account for /inzage, made the documented way (`users add`)."""
    done = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "users", "add", PRIVACY_USER,
                           "--users", str(users), "--role", "inzage-vertrouwelijk", "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise DemoFailed(f"could not create the /inzage user: {done.stderr.strip()}")


def keep_running() -> None:
    """--keep-running: the logs stay up until Ctrl-C (or SIGTERM), then everything stops as usual."""
    say()
    say("The logs keep running (--keep-running): open the pages above; press Ctrl-C to stop.")
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
