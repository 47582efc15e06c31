"""The README's main-job command, run exactly as the README gives it (`./scripts/demo`).

Checks what a newcomer sees (every action by its exact name, both sides of the chain with the
afnemer fields, each side in its own organisation's log, the confidentiality lifted in each log,
the Inzage across both logs by the real CLI) and that the demo leaves nothing
behind, also when it fails or is interrupted: every port it announced refuses connections, no
process carrying this run's marker is alive, and its temporary directory is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
GEMEENTE_OIN = "00000001999999999000"
SERVICES = {"gemeente-log", "BRP-log", "BRP provider", "gemeente"}
MARKER = "DEMO_TEST_MARKER"  # inherited by every process the demo starts (not VERWERKINGEN_*: those are not)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    marker: str

    @property
    def ports(self) -> dict[str, int]:
        found = dict(re.findall(r"^\s+(gemeente-log|BRP-log|BRP provider|gemeente)\s+http://127\.0\.0\.1:(\d+)",
                                self.stdout, re.M))
        return {name: int(port) for name, port in found.items()}

    @property
    def workdir(self) -> Path:
        match = re.search(r"^working directory (\S+) ", self.stdout, re.M)
        assert match, self.stdout
        return Path(match.group(1))


def setup_commands() -> list[str]:
    """The indented command lines of the README's Set-up section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Set-up\n", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


def demo_command(*args: str) -> list[str]:
    return [*shlex.split(setup_commands()[0]), *args]


def test_readme_setup_names_exactly_the_two_commands() -> None:
    assert setup_commands() == ["./scripts/demo", "./scripts/test"]


def demo_env(marker: str) -> dict[str, str]:
    return {**os.environ, MARKER: marker}


def run_demo(*args: str, timeout: float = 120.0) -> Run:
    marker = uuid.uuid4().hex
    proc = subprocess.run(demo_command(*args), cwd=ROOT, env=demo_env(marker), capture_output=True,
                          text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr, marker)


def processes_with(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER) == marker:
                found.append(proc)
        except (psutil.Error, OSError):
            continue  # gone meanwhile, or another user's process
    return found


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True


def assert_nothing_left(run: Run, expected_ports: set[str]) -> None:
    assert set(run.ports) == expected_ports, run.stdout
    left = processes_with(run.marker)
    assert left == [], [p.cmdline() for p in left]
    for name, port in run.ports.items():
        assert refuses(port), f"{name} still listens on {port}"
    assert not run.workdir.exists()


ROW = re.compile(r"^\s+(\d+)  (gemeente-log|BRP-log)\s+(gemeente|BRP)\s+(.+?)\s{2,}(normaal|vertrouwelijk|opgeheven)\s+([0-9a-f]{8})\s+"
                 r"(-|\d{20})\s+(-|[0-9a-f]{8})$", re.M)


@pytest.fixture(scope="module")
def demo() -> Run:
    return run_demo()


def test_demo_exits_zero_and_leaves_nothing(demo: Run) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "DEMO FAILED" not in demo.stderr
    assert "Nothing is left running" in demo.stdout
    assert_nothing_left(demo, SERVICES)


def test_demo_shows_every_action_with_both_sides_of_the_chain(demo: Run) -> None:
    rows = ROW.findall(demo.stdout)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("gemeente-log", "gemeente", "Zoeken burger", "normaal"),
        ("BRP-log", "BRP", "Zoeken personen", "normaal"),
        ("gemeente-log", "gemeente", "Raadplegen burger", "normaal"),
        ("BRP-log", "BRP", "Verstrekken persoonsgegevens", "normaal"),
        ("gemeente-log", "gemeente", "Aanmaken zaak", "normaal"),
        ("BRP-log", "BRP", "Verstrekken persoonsgegevens", "normaal"),
        ("gemeente-log", "gemeente", "Aanmaken zaak", "vertrouwelijk"),
        ("BRP-log", "BRP", "Verstrekken persoonsgegevens", "vertrouwelijk"),
    ], demo.stdout
    rows = [(r[0], *r[2:]) for r in rows]  # the log column checked: the rest as before
    assert [r[0] for r in rows] == [str(n) for n in range(1, 9)]
    for gemeente, brp in zip(rows[0::2], rows[1::2]):
        assert gemeente[5:] == ("-", "-")                  # called by nobody: no afnemer fields
        assert brp[5] == GEMEENTE_OIN                      # afnemerId: the gemeente's OIN
        assert brp[6] == gemeente[4]                       # verwerkingIdAfnemer: the gemeente's verwerkingId
        assert brp[4] != gemeente[4]                       # the BRP's own verwerking
    zaken = dict(re.findall(r"POST /zaken\s+(\w+)\s+\d{9}.*zaak ([0-9a-f-]{36})$", demo.stdout, re.M))
    assert set(zaken) == {"verhuizing", "adresonderzoek"}
    assert rows[4][4] == zaken["verhuizing"][:8] and rows[6][4] == zaken["adresonderzoek"][:8]
    assert demo.stdout.count("personen: 999993653, 999995017, 999990019 (Getoond in zoekresultaat)") == 2
    assert "personen: 999992004 (Aanvrager)" in demo.stdout
    assert "personen: 999992004 (Ingeschrevene)" in demo.stdout
    # the gemeente annotates by activity name, resolved through its log's VAR API (the url is that log's)
    log_port = demo.ports["gemeente-log"]
    assert len(re.findall(rf"^\s+activiteit afnemer: http://127\.0\.0\.1:{log_port}/api/v1/verwerkingsactiviteiten/"
                          r"[0-9a-f-]{36}$", demo.stdout, re.M)) == 4
    assert re.findall(r"^\s+activiteit: (.+)$", demo.stdout, re.M) == [
        "Burgerzaken: raadplegen basisregistratie", "BRP: zoeken personen",
        "Burgerzaken: raadplegen basisregistratie", "BRP: verstrekken persoonsgegevens",
        "Zaakgericht werken: behandelen van zaken", "BRP: verstrekken persoonsgegevens",
        "Zaakgericht werken: behandelen van zaken", "BRP: verstrekken persoonsgegevens",
    ]
    assert "all 8 actions arrived" in demo.stdout
    assert "read from both logs (gemeente-log: 4, BRP-log: 4)" in demo.stdout
    assert "each side in its own log: the gemeente's actions in gemeente-log, the BRP's in BRP-log" in demo.stdout


def test_the_gemeente_names_its_log_in_a_destinations_file(demo: Run) -> None:
    section = demo.stdout.split("[1/8]")[1].split("[2/8]")[0]
    port = demo.ports["gemeente-log"]
    assert "(FastAPI on uvicorn; VERWERKINGEN_DESTINATIONS = gemeente-destinations.toml)" in section
    assert "(Flask on werkzeug; VERWERKINGEN_API_URL = the BRP-log)" in section
    shown = re.findall(r"^ {10}(\S.*)$", section, re.M)
    assert shown == ["[destinations.gemeente-log]", f'api_url = "http://127.0.0.1:{port}/api/v1"',
                     'client_id = "gemeente"', 'secret_env = "GEMEENTE_LOG_SECRET"',  # never the secret itself
                     "[[routes]]", "default = true", 'destinations = ["gemeente-log"]'], section
    assert "all four answer" in section


def test_demo_lifts_the_confidentiality(demo: Run) -> None:
    lifted = re.findall(r"^\s+(gemeente|BRP)\s+(.+?)\s{2,}vertrouwelijk → opgeheven   "
                        r"\(new version [0-9a-f]{8}, was [0-9a-f]{8}; in (\S+)\)$", demo.stdout, re.M)
    assert lifted == [("gemeente", "Aanmaken zaak", "gemeente-log"),
                      ("BRP", "Verstrekken persoonsgegevens", "BRP-log")], demo.stdout
    patches = re.findall(r"^\s+(\S+)\s+PATCH /verwerkingsacties\?verwerkingId=([0-9a-f-]{36})  "
                         r'\{"vertrouwelijkheid": "opgeheven"\}  \((\w+)\)$', demo.stdout, re.M)
    zaak = re.search(r"POST /zaken\s+adresonderzoek\s+\d{9}.*zaak ([0-9a-f-]{36})$", demo.stdout, re.M).group(1)
    assert [(log, side) for log, _, side in patches] == [("gemeente-log", "gemeente"), ("BRP-log", "BRP")]
    assert patches[0][1] == zaak and patches[1][1] != zaak  # the zaak in the gemeente's log, the BRP's own verwerking


def test_demo_shows_the_inzage_result(demo: Run) -> None:
    """The gemeente and the BRP log to two logs; the real `verwerkingen-otel inzage` asks both."""
    section = demo.stdout.split("[6/8]")[1].split("[7/8]")[0]
    command = re.search(r"^\s+(verwerkingen-otel inzage .*)$", section, re.M)
    assert command and re.fullmatch(r"verwerkingen-otel inzage --bsn 999992004 --from \d{4}-\d\d-\d\d "
                                    r"--to \d{4}-\d\d-\d\d --destinations inzage-destinations.toml --json",
                                    command.group(1)), section
    assert "with GEMEENTE_LOG_BEHEER_SECRET and BRP_LOG_BEHEER_SECRET set:" in section
    assert "objectId=999992004" in section
    assert "2 results from 2 logs (gemeente-log: 1, BRP-log: 1)" in section
    inzage = re.findall(r"^\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (.+?)\s{2,}(.+?)\s{2,}(\w+)\s+(\w+)\s+(-|\d{20})"
                        r"\s+\[(.+)\]$", section, re.M)
    assert inzage == [
        ("Aanmaken zaak", "Onderzoek adreskwaliteit", "opgeheven", "Aanvrager", "-", "gemeente-log"),
        ("Verstrekken persoonsgegevens", "-", "opgeheven", "Ingeschrevene", GEMEENTE_OIN, "BRP-log"),
    ], section
    assert "each of the 2 logs recorded this Inzage once, as 'Inzage verwerkingenlog'" in section


def test_demo_ends_pointing_at_the_register_and_the_pages(demo: Run) -> None:
    section = demo.stdout.split("[8/8]")[1]
    port = demo.ports["gemeente-log"]
    assert "the gemeente's log serves the register,\n      5 activities" in section
    assert re.search(rf"^\s+the register \(VAR API\)\s+http://127\.0\.0\.1:{port}/api/v1/verwerkingsactiviteiten$",
                     section, re.M)
    assert re.search(rf"^\s+for citizens\s+http://127\.0\.0\.1:{port}/register$", section, re.M)
    assert re.search(rf"^\s+for the privacy officer\s+http://127\.0\.0\.1:{port}/inzage   user privacy, "
                     r"password \S{16}$", section, re.M)
    assert "To open them: ./scripts/demo --keep-running (the logs stay up until Ctrl-C)." in section


def test_keep_running_leaves_the_pages_up_until_ctrl_c() -> None:
    import httpx

    marker = uuid.uuid4().hex
    proc = subprocess.Popen(demo_command("--keep-running"), cwd=ROOT, env=demo_env(marker), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "press Ctrl-C to stop" in line:
            break
    text = "".join(lines)
    site = re.search(r"for citizens\s+(http://\S+)/register", text).group(1)
    password = re.search(r"user privacy, password (\S+)", text).group(1)
    assert "Burgerzaken: raadplegen basisregistratie" in httpx.get(f"{site}/register").text
    with httpx.Client(base_url=site) as browser:
        token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/inzage").text).group(1)
        r = browser.post("/inzage/inloggen", data={"csrf": token, "gebruiker": "privacy", "wachtwoord": password})
        assert r.status_code == 303 and "Ingelogd als <strong>privacy</strong>" in browser.get("/inzage").text
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    run = Run(proc.returncode, text + out, err, marker)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Nothing is left running" in run.stdout
    assert_nothing_left(run, SERVICES)


def test_demo_finds_the_brp_logregel_by_pseudonym_through_the_lezen_api(demo: Run) -> None:
    section = demo.stdout.split("[7/8]")[1].split("[8/8]")[0]
    assert "the BRP's logregels about BSN 999992004 in its log" in section  # the BRP-log's lezen API
    pseudonym = re.search(r"--bsn 999992004\n\s+([0-9a-f]{64})$", section, re.M)
    assert pseudonym, section
    assert f'{{"dpl.core.data_subject_id": "{pseudonym.group(1)[:12]}…"}}' in section
    assert "1 logregel(s), sent by the BRP provider over OTLP" in section
    rows = re.findall(r"^\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (.+?)\s{2,}(Unset|Error)\s+([0-9a-f]{8})\s+(\S+)\s+(\S+)$",
                      section, re.M)
    # the register file's url of the BRP's activity (NOTES: url before id): the BRP reads that file itself
    activity = "https://register.brp.example/verwerkingsactiviteiten/3d0c9b8e-6a51-4d2f-9f3e-1b7c2a4e5d60"
    assert rows == [("Verstrekken persoonsgegevens", "Unset", rows[0][2], f"urn:oin:{GEMEENTE_OIN}", activity)], section
    assert re.search(r"parentSpanId [0-9a-f]{16}: its outbound request", section)
    assert "999992004" not in section.split("--bsn 999992004", 1)[1]  # only the command line names the BSN


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port something else listens on for the duration of the block."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_port_in_use_fails_nonzero_and_stops_what_started() -> None:
    """The gemeente cannot bind: the logs and the provider were already up and must be stopped."""
    with taken_port() as port:
        run = run_demo("--consumer-port", str(port))
        assert run.returncode == 1, run.stdout + run.stderr
        assert "DEMO FAILED: gemeente exited with code" in run.stderr
        assert "address already in use" in run.stderr.lower()
        assert "[2/8]" not in run.stdout
        assert run.ports["gemeente"] == port
        left = processes_with(run.marker)
        assert left == [], [p.cmdline() for p in left]
        for name in ("gemeente-log", "BRP-log", "BRP provider"):
            assert refuses(run.ports[name]), name
        assert not run.workdir.exists()


def test_brp_log_port_in_use_fails_nonzero_naming_that_log() -> None:
    """The BRP's log cannot bind: the demo stops at step 1 naming it, and the gemeente's log is stopped."""
    with taken_port() as port:
        run = run_demo("--brp-log-port", str(port))
        assert run.returncode == 1, run.stdout + run.stderr
        assert "DEMO FAILED: BRP-log exited with code" in run.stderr
        assert "address already in use" in run.stderr.lower()
        assert "[2/8]" not in run.stdout and "waiting for BRP provider" not in run.stdout
        assert run.ports["BRP-log"] == port
        assert processes_with(run.marker) == []
        assert refuses(run.ports["gemeente-log"])
        assert not run.workdir.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT (Ctrl-C)"])
def test_signal_midway_stops_everything(sig: signal.Signals) -> None:
    """A signal once the services answer: exit 128+signal, every service stopped, nothing left."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(demo_command(), cwd=ROOT, env=demo_env(marker), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "all four answer" in line:
            running = processes_with(marker)  # the marker check below can fail: here it finds them
            assert {proc.pid} < {p.pid for p in running} and len(running) == 5, [p.cmdline() for p in running]
            # scripts/demo execs Python, so this pid is the demo itself
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=60)
    run = Run(proc.returncode, "".join(lines) + out, err, marker)
    assert run.returncode == 128 + sig, run.stdout + run.stderr
    assert f"interrupted ({sig.name}): stopping everything" in run.stderr
    assert "Done in" not in run.stdout
    assert_nothing_left(run, SERVICES)
