"""examples/chain: the two commands of its README, real processes, the exact actions printed."""

from __future__ import annotations

import re

import httpx

from .conftest import EXAMPLES, example_env, free_port, json_lines

GEMEENTE_OIN = "00000001999999999000"
BRP_OIN = "00000004999999999000"


def sh_blocks() -> list[str]:
    """Every ```sh block of examples/chain/README.md: the provider's command, then the consumer's."""
    text = (EXAMPLES / "chain" / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)]


def test_chain_readme_commands_run_as_documented(service) -> None:
    provider_cmd, consumer_cmd = sh_blocks()
    assert "--port 8081" in provider_cmd and "BRP_API_URL=http://127.0.0.1:8081 " in consumer_cmd
    assert "--port 8080" in consumer_cmd
    brp_port, port = free_port(), free_port()
    provider = service(provider_cmd.replace("8081", str(brp_port)), example_env(), brp_port, shell=True)
    consumer = service(consumer_cmd.replace("8081", str(brp_port)).replace("8080", str(port)), example_env(), port,
                       shell=True)
    hits = httpx.get(f"{consumer.base}/burgers", params={"achternaam": "Jansen"}).json()["personen"]
    assert [p["bsn"] for p in hits] == ["999993653", "999995017", "999990019"]
    assert httpx.get(f"{consumer.base}/burgers/999993653").json()["voornamen"] == "Jan"
    zaak = httpx.post(f"{consumer.base}/zaken", json={"zaaktype": "adresonderzoek", "bsn": "999992004"})
    assert zaak.status_code == 201
    zaak_id = zaak.json()["zaak"]
    gemeente_out, gemeente_err = consumer.stop()
    brp_out, brp_err = provider.stop()

    gemeente = json_lines(gemeente_out)
    brp = json_lines(brp_out)
    assert [a["actieNaam"] for a in gemeente] == ["Zoeken burger", "Raadplegen burger", "Aanmaken zaak"], gemeente_err
    assert [a["actieNaam"] for a in brp] == [
        "Zoeken personen", "Verstrekken persoonsgegevens", "Verstrekken persoonsgegevens"], brp_err
    assert {a["systeem"] for a in gemeente} == {"Zaaksysteem Voorbeeldstad"}
    assert {a["systeem"] for a in brp} == {"BRP-bevragen (voorbeeld)"}
    assert [[o["objectId"] for o in a["verwerkteObjecten"]] for a in brp] == [
        ["999993653", "999995017", "999990019"], ["999993653"], ["999992004"]]
    # the provider names the gemeente as afnemer, with the gemeente's verwerking for each call
    assert [a["afnemerId"] for a in brp] == [GEMEENTE_OIN] * 3
    assert [a["verwerkingIdAfnemer"] for a in brp] == [a["verwerkingId"] for a in gemeente]
    zaak_actie = gemeente[2]
    assert zaak_actie["verwerkingId"] == zaak_id
    assert (zaak_actie["vertrouwelijkheid"], brp[2]["vertrouwelijkheid"]) == ("vertrouwelijk", "vertrouwelijk")
    assert brp[2]["verwerkingsactiviteitUrlAfnemer"] == zaak_actie["verwerkingsactiviteitUrl"]
    # both annotate by activity name (VERWERKINGEN_REGISTER): id and url from the register; the
    # gemeente's bewaartermijn is its register's (P10Y; the zaak's own for the investigation), and
    # reaches the BRP as the Bewaartermijn header, which beats the BRP's register default (P20Y)
    assert [a["verwerkingsactiviteitId"] for a in gemeente] == [
        "5e1c8a70-3f2b-4d9a-b6c4-2a7e9d0f1b38", "5e1c8a70-3f2b-4d9a-b6c4-2a7e9d0f1b38",
        "c4f7d2a9-8b1e-4c63-9a05-7d3e6f2b1c90"]
    assert zaak_actie["verwerkingsactiviteitUrl"] == (
        "https://register.voorbeeldstad.example/verwerkingsactiviteiten/c4f7d2a9-8b1e-4c63-9a05-7d3e6f2b1c90")
    assert [(a["verwerkingsactiviteitId"][:8], a["bewaartermijn"]) for a in brp] == [
        ("8e1f7a2b", "P10Y"), ("3d0c9b8e", "P10Y"), ("3d0c9b8e", "P20Y")]
    assert [a["bewaartermijn"] for a in gemeente] == ["P10Y", "P10Y", "P20Y"]
    assert "999993653" not in gemeente_err + brp_err  # no access log, no BSN in ordinary logs
