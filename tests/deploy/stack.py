"""docker-compose.yml run without Docker: every service the repository builds, and the proxy, is
started with its own `command`, its environment mapped onto this machine (PostgreSQL on
127.0.0.1:5432 with a fresh database and the init script's roles, Redis databases 11 (broker)
and 12 (cache), a local SMTP catcher for the `mail` service, free loopback ports for the
containers' ports), after the Dockerfile's own collectstatic. Anything the compose file names
that the repository lacks fails here."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BROKER_DB, CACHE_DB = 11, 12

# Services that are images we do not build: mapped onto this machine instead of started.
MAPPED = {"db", "broker", "cache", "mail"}

# What a store process must not inherit from the test run (its settings come from compose).
_STORE_VARIABLE = re.compile(
    r"^(DJANGO_|SECRET_KEY|ALLOWED_HOSTS|CSRF_|DEBUG|DATABASE_|REDIS_URL|CELERY_|CACHE_|MFA_"
    r"|STAFF_MFA|GATEWAY_|EMAIL_|DEFAULT_FROM_EMAIL|SECURE_|TRUSTED_PROXY|IPMART_|ACCOUNT_"
    r"|SITE_URL|ORDER_|PAYMENT_|LOG_LEVEL|LOG_FORMAT|REQUIRE_SERVICES|OUTBOX_|METRICS_|MEDIA_ROOT"
    r"|FORWARDED_ALLOW|DOCUMENT_|DATA_EXPORT_|VERIFICATION_|INTAKE_|SUPPORT_|MARKETING_|MAILGUN_"
    r"|ANYMAIL_|ANONYMOUS_CART_|UNPAID_ORDER_|IP_ADDRESS_|CLOSURE_NOTICE_)"
)
_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${VAR:?error}`."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = values.get(name)
        if operator == ":-":
            return value if value else argument
        if operator == "-":
            return argument if value is None else value
        if operator in {":?", "?"}:
            if not value:
                raise AssertionError(f"compose needs {name}: {argument}")
            return value
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def dockerfile_env_and_collectstatic() -> tuple[dict[str, str], str]:
    """The Dockerfile's ENV values and the shell text of its collectstatic RUN step."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    collectstatic = ""
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in shlex.split(line[4:])))
        elif line.startswith("RUN ") and "collectstatic" in line:
            collectstatic = line[4:]
    assert collectstatic, "the Dockerfile has no collectstatic step"
    return env, collectstatic


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )


@dataclass
class Stack:
    """The compose stack as local processes. `start()` brings it up; `stop()` ends all of it."""

    workdir: Path
    database: str
    smtp_port: int
    tag: str = field(default_factory=lambda: f"t{os.getpid()}")
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.compose_text = (ROOT / "docker-compose.yml").read_text()
        self.https_port, self.http_port, self.internal_port = free_port(), free_port(), free_port()
        self.owner_role, self.app_role = f"ipmart_owner_{self.tag}", f"ipmart_app_{self.tag}"
        self.var_dir = self.workdir / "var"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        import base64
        import secrets

        from cryptography.fernet import Fernet

        # What an operator writes into .env: .env.example with its empty values filled in.
        self.dotenv = read_env_file(ROOT / ".env.example") | {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DOCUMENT_KEYS": "deploy-1:"
            + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "IPMART_DB_OWNER_PASSWORD": secrets.token_urlsafe(16),
            "IPMART_DB_APP_PASSWORD": secrets.token_urlsafe(16),
            # The published HTTPS port is not 443 here, so the public addresses carry it.
            "SITE_HOST": "localhost",
            "ALLOWED_HOSTS": "localhost",
            "SITE_URL": f"https://localhost:{self.https_port}",
            "SANDBOX_PUBLIC_ADDRESS": f"localhost:{self.https_port}",
            "GATEWAY_ALLOWED_REDIRECT_HOSTS": f"payment.localhost:{self.https_port}",
        }
        compose = yaml.safe_load(interpolate(self.compose_text, self.dotenv))
        self.services: dict[str, dict] = compose["services"]
        self.ports = {"web": free_port(), "web2": free_port(), "sandbox": free_port()}
        self.container_port = {"web": 8000, "web2": 8000, "sandbox": 8001, "proxy": 8080}
        self.docker_env, self.collectstatic = dockerfile_env_and_collectstatic()

    # --- mapping compose onto this machine -------------------------------------------------
    def local(self, value: str, service: str = "") -> str:
        """One compose value with the stack's addresses, roles and paths made local."""
        value = re.sub(r"@db:5432/ipmart\b", f"@127.0.0.1:5432/{self.database}", value)
        value = re.sub(r"\bipmart_owner\b", self.owner_role, value)
        value = re.sub(r"\bipmart_app\b", self.app_role, value)
        value = value.replace("redis://broker:6379/0", f"redis://127.0.0.1:6379/{BROKER_DB}")
        value = value.replace("redis://cache:6379/0", f"redis://127.0.0.1:6379/{CACHE_DB}")
        hosts = {**self.ports, "proxy": self.internal_port}
        value = re.sub(
            r"\b(web2|web|sandbox|proxy):(\d+)\b",
            lambda m: f"127.0.0.1:{hosts[m.group(1)]}",
            value,
        )
        if service in self.ports:
            own = self.container_port[service]
            value = re.sub(
                rf"\b(?:0\.0\.0\.0|127\.0\.0\.1):{own}\b", f"127.0.0.1:{self.ports[service]}", value
            )
        value = value.replace("/app/var", str(self.var_dir))
        # The proxy's fixed address on the stack's network is loopback here.
        value = value.replace("172.30.57.10", "127.0.0.1")
        return value

    def environment(self, service: str) -> dict[str, str]:
        spec = self.services[service]
        env = {k: v for k, v in os.environ.items() if not _STORE_VARIABLE.match(k)}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        if "build" in spec:
            env |= {k: self.local(v) for k, v in self.docker_env.items()}
        if spec.get("env_file"):
            assert spec["env_file"] == ".env", spec["env_file"]
            env |= {k: self.local(v) for k, v in self.dotenv.items()}
        for name, value in (spec.get("environment") or {}).items():
            env[name] = self.local(str(value), service)
        # The `mail` service is a local SMTP catcher (Mailpit is not packaged for Debian).
        if env.get("EMAIL_HOST") == "mail":
            env["EMAIL_HOST"], env["EMAIL_PORT"] = "127.0.0.1", str(self.smtp_port)
        return env

    def command(self, service: str) -> list[str]:
        spec = self.services[service]
        command = [self.local(str(part), service) for part in spec["command"]]
        if service in self.ports:
            command = ["127.0.0.1" if part == "0.0.0.0" else part for part in command]
            if "--port" in command:
                command[command.index("--port") + 1] = str(self.ports[service])
        for volume in spec.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                command = [part.replace(target, str(ROOT / source)) for part in command]
        if command[0] == "python":
            command[0] = sys.executable
        return command

    # --- processes --------------------------------------------------------------------------
    def run(self, args: list[str], env: dict[str, str], timeout: float = 180) -> str:
        result = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        log = self.workdir / f"{name}.log"
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(process.tail() for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()

    # --- bring up -----------------------------------------------------------------------------
    def init_database(self) -> None:
        """What the postgres image does on a new data directory: the database, then the init
        scripts mounted into /docker-entrypoint-initdb.d/ (run as the superuser)."""
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        admin.close()
        db = self.services["db"]
        env = {k: self.local(str(v)) for k, v in db["environment"].items()}
        env |= {"POSTGRES_DB": self.database, "PGHOST": "127.0.0.1", "PATH": os.environ["PATH"]}
        for volume in db["volumes"]:
            source, target = volume.split(":")[:2]
            if target.startswith("/docker-entrypoint-initdb.d/"):
                self.run(["sh", str(ROOT / source)], env)

    def drop_database(self) -> None:
        import psycopg2

        admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            for role in (self.app_role, self.owner_role):
                cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()

    def flush_redis(self) -> None:
        import redis

        for db in (BROKER_DB, CACHE_DB):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()

    def healthcheck(self, service: str) -> bool:
        test = [
            self.local(str(part), service) for part in self.services[service]["healthcheck"]["test"]
        ]
        assert test[0] == "CMD", test
        args = [sys.executable if part == "python" else part for part in test[1:]]
        try:
            return (
                subprocess.run(
                    args, env=self.environment(service), capture_output=True, timeout=10
                ).returncode
                == 0
            )
        except subprocess.TimeoutExpired:
            return False

    def proxy_environment(self) -> dict[str, str]:
        env = self.environment("proxy")
        for mapping in self.services["proxy"].get("ports", []):
            published, inside = str(mapping).rsplit(":", 1)
            assert inside in {"80", "443"}, mapping
        # The published ports: Caddy listens on them directly here.
        env |= {
            "HTTP_PORT": str(self.http_port),
            "HTTPS_PORT": str(self.https_port),
            "INTERNAL_PORT": str(self.internal_port),
            "XDG_DATA_HOME": str(self.workdir / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.workdir / "caddy-config"),
            "HOME": str(self.workdir),
        }
        return env

    @property
    def root_certificate(self) -> Path:
        return self.workdir / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def start(self) -> None:
        self.flush_redis()
        self.init_database()
        # The image's build step, then the one-off migrate service.
        web_env = self.environment("web")
        self.run(["sh", "-c", self.collectstatic], web_env)
        self.run(self.command("migrate"), self.environment("migrate"))
        for service in ("web", "web2", "worker", "beat", "sandbox", "proxy"):
            env = self.proxy_environment() if service == "proxy" else self.environment(service)
            self.spawn(service, self.command(service), env)
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 90) -> None:
        import ssl

        deadline = time.monotonic() + timeout
        pending = {"web", "web2", "proxy"}
        while pending and time.monotonic() < deadline:
            for process in self.processes:
                assert process.popen.poll() is None, f"{process.name} exited\n{self.logs()}"
            for service in list(pending - {"proxy"}):
                if self.healthcheck(service):
                    pending.discard(service)
            if "proxy" in pending and self.root_certificate.exists():
                context = ssl.create_default_context(cafile=str(self.root_certificate))
                try:
                    with urllib.request.urlopen(
                        f"https://localhost:{self.https_port}/healthz", context=context, timeout=3
                    ) as answer:
                        if answer.status == 200:
                            pending.discard("proxy")
                except OSError:
                    pass
            time.sleep(0.5)
        assert not pending, f"not up after {timeout}s: {pending}\n{self.logs()}"
