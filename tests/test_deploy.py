"""deploy/compose.yaml, read as Docker Compose would read it (no Docker engine here): PostgreSQL,
two searchbot replicas in webhook mode and a reverse proxy in front of them, wired to each
other consistently, so that one ``docker compose up`` starts a bot that survives a replica."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_postgres_two_webhook_replicas_and_a_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "bot1", "bot2", "proxy"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    replicas = [services["bot1"], services["bot2"]]
    assert replicas[0] == replicas[1]  # the same bot twice
    for bot in replicas:
        assert bot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY.parent / bot["build"]["dockerfile"]).is_file()
        command = bot["command"]
        assert command[:3] == ["searchbot", "run", "--webhook"]
        assert re.fullmatch(r"https://\$\{BOT_DOMAIN[^}]*\}/telegram", command[3])
        env = bot["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://searchbot:")
        assert env["DATABASE_URL"].endswith("@postgres:5432/searchbot")
        assert env["SEARCHBOT_WEBHOOK_LISTEN"] == "0.0.0.0:8443"
        assert env["SEARCHBOT_METRICS_LISTEN"] == "0.0.0.0:9090"
        assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert "9090/healthz" in " ".join(bot["healthcheck"]["test"])
        assert bot["env_file"] == ".env"
    assert set(services["proxy"]["depends_on"]) == {"bot1", "bot2"}
    assert set(compose()["volumes"]) == {"pgdata", "caddy_data"}


def test_the_proxy_spreads_the_webhook_over_both_replicas_by_their_health() -> None:
    proxy = compose()["services"]["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    mounted = next(v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    caddyfile = (DEPLOY / mounted.split(":")[0]).read_text()
    assert "{$BOT_DOMAIN}" in caddyfile
    assert re.search(r"handle /telegram \{\s*reverse_proxy bot1:8443 bot2:8443", caddyfile)
    assert "health_uri /healthz" in caddyfile and "health_port 9090" in caddyfile
    assert caddyfile.count("{") == caddyfile.count("}")


def test_every_variable_the_compose_file_needs_is_in_its_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    needed = set(re.findall(r"\$\{(\w+)", text))
    example = (DEPLOY / "env.example").read_text()
    given = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert needed <= given
    assert {"TELEGRAM_BOT_TOKEN", "SEARCHBOT_WEBHOOK_SECRET"} <= given
