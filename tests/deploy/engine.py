"""A private Docker engine, and the stand-in base images, for the live compose test.

``private_engine`` starts Debian's ``dockerd`` as root with every path it writes (data root,
exec root, socket, pid file, its log) under one new temporary folder; on exit it stops the
engine, unmounts anything left under the folder and removes it. Storage: overlay2 where the
folder's filesystem takes it (ext4 here: layers and containers cost nothing to create), else
vfs (a full copy of the image for every layer and container: works anywhere, slowly);
``SMILE_DOCKER_STORAGE_DRIVER`` picks one. Nothing is pulled: this machine reaches no
container registry.

``build_standins`` makes the images ``docker-compose.yml`` and ``Dockerfile`` name
(``python:3.11-slim-bookworm``, ``postgres:*``, ``redis:*``, ``nginx:*``, and with the
``monitoring`` profile ``prom/prometheus:*``) from Debian, inside
that engine only: one ``debootstrap --variant=minbase bookworm`` tree, imported once, then one
small Dockerfile per image from ``tests/deploy/standins/`` (README there). They stand in for
the official images; they are not them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PROJECT_ROOT

STANDINS = PROJECT_ROOT / "tests" / "deploy" / "standins"
DEFAULT_BRIDGE = Path("/sys/class/net/docker0")
BASE_IMAGE = "smile-standin/debian:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
TOOLS = ("dockerd", "docker", "docker-compose", "debootstrap")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
DEBOOTSTRAP_TIMEOUT = 900.0
STANDIN_BUILD_TIMEOUT = 900.0


class EngineUnavailable(Exception):
    """No Docker engine can be started here (the reason says why)."""


def unavailable_reason() -> str | None:
    """Why a private engine cannot be started here, before trying; None when it may."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install docker.io docker-compose debootstrap)"
    return None


@dataclass
class Engine:
    root: Path
    process: subprocess.Popen[bytes]
    driver: str

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for docker and docker-compose: this engine, the classic builder.

        The host's own ``SMILE_*`` and ``POSTGRES_*`` variables are left out: docker-compose lets
        the shell override ``.env``, and CI exports ``SMILE_DATABASE_URL`` and ``SMILE_REDIS_URL``
        for its native services, which would send the containers to 127.0.0.1.
        """
        host = {name: value for name, value in os.environ.items() if not name.startswith(("SMILE_", "POSTGRES_"))}
        return {
            **host,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_DOCKER_CLI_BUILD": "0",
            **extra,
        }

    def run(
        self, *args: str, timeout: float, cwd: Path | None = None, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A docker or docker-compose command against this engine; its output as text."""
        done = subprocess.run(
            list(args),
            cwd=cwd,
            env=self.env(),
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args[:4])} ... exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done

    def docker(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("docker", *args, timeout=timeout, check=check)

    def inspect(self, *names: str) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.docker("inspect", *names).stdout)
        return loaded

    def log_tail(self, characters: int = 4000) -> str:
        return self.log.read_bytes().decode(errors="replace")[-characters:]


def _mounts_under(root: Path) -> list[str]:
    mounts = []
    with open("/proc/self/mountinfo") as file:
        for line in file:
            # Field 5 is the mount point, with spaces and the like escaped as octal.
            point = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), line.split()[4])
            if point == str(root) or point.startswith(f"{root}/"):
                mounts.append(point)
    return mounts


def _stop(engine: Engine) -> None:
    if engine.process.poll() is None:
        engine.process.send_signal(signal.SIGTERM)
        try:
            engine.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            engine.process.kill()
            engine.process.wait(timeout=STOP_TIMEOUT)


def remove_engine_folder(root: Path) -> None:
    """Unmount whatever the engine left mounted under ``root`` (deepest first), then remove it."""
    for point in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=30, check=False)
    shutil.rmtree(root, ignore_errors=True)
    if root.exists():  # a second try once lazy unmounts have settled
        time.sleep(1)
        shutil.rmtree(root)


def _start(root: Path, driver: str) -> Engine:
    """dockerd on ``driver``, answering; EngineUnavailable (and stopped) otherwise."""
    for folder in ("data", "exec"):
        (root / folder).mkdir(exist_ok=True)
    with (root / "dockerd.log").open("ab") as log:
        process = subprocess.Popen(
            [
                "dockerd",
                f"--storage-driver={driver}",
                f"--data-root={root / 'data'}",
                f"--exec-root={root / 'exec'}",
                f"--pidfile={root / 'docker.pid'}",
                f"--host=unix://{root / 'docker.sock'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = Engine(root=root, process=process, driver=driver)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while engine.docker("version", check=False, timeout=30).returncode != 0:
            if process.poll() is not None:
                raise EngineUnavailable(f"dockerd ({driver}) exited with {process.returncode}:\n{engine.log_tail()}")
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"dockerd ({driver}) did not answer in {START_TIMEOUT:.0f} s:\n{engine.log_tail()}"
                )
            time.sleep(0.5)
    except BaseException:
        _stop(engine)
        raise
    return engine


@contextlib.contextmanager
def private_engine() -> Iterator[Engine]:
    """dockerd with everything under a new temporary folder; stopped and the folder removed on exit."""
    reason = unavailable_reason()
    if reason:
        raise EngineUnavailable(reason)
    root = Path(tempfile.mkdtemp(prefix="smile-dockerd-"))
    bridge_existed = DEFAULT_BRIDGE.exists()
    try:
        chosen = os.environ.get("SMILE_DOCKER_STORAGE_DRIVER")
        drivers = [chosen] if chosen else ["overlay2", "vfs"]
        engine: Engine | None = None
        failures = []
        for driver in drivers:
            try:
                engine = _start(root, driver)
                break
            except EngineUnavailable as exc:
                failures.append(str(exc))
                shutil.rmtree(root / "data", ignore_errors=True)
        if engine is None:
            raise EngineUnavailable("\n".join(failures))
        try:
            yield engine
        finally:
            _stop(engine)
    finally:
        remove_engine_folder(root)
        # dockerd leaves its default bridge behind: remove it unless it was there before.
        if not bridge_existed and DEFAULT_BRIDGE.exists() and shutil.which("ip"):
            subprocess.run(["ip", "link", "delete", DEFAULT_BRIDGE.name], capture_output=True, timeout=30, check=False)


# --- Stand-in base images -----------------------------------------------------------------


def official_images(compose: Mapping[str, Any], dockerfile: str, profiles: Iterable[str] = ()) -> dict[str, Path]:
    """Each official image the test's stack runs -> its stand-in's folder.

    That is the Dockerfile's base and the images of the services ``up`` starts with ``profiles``
    on: those of every service in no profile, and of each service in one of ``profiles`` (the
    live test turns ``monitoring`` on: Prometheus). A service only in another profile (``gpu``)
    is not started and needs no stand-in.
    """
    enabled = set(profiles)
    named = {
        str(service["image"])
        for service in compose["services"].values()
        if "build" not in service and (not service.get("profiles") or enabled & set(service["profiles"]))
    }
    python = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert python, "the Dockerfile names its Python image in ARG PYTHON_IMAGE"
    named.add(python.group(1))
    images = {}
    for image in sorted(named):
        # The repository's last part names the folder: prom/prometheus -> prometheus/.
        folder = STANDINS / image.split(":")[0].rsplit("/", 1)[-1]
        assert (folder / "Dockerfile").is_file(), f"no test stand-in for {image} in {STANDINS}"
        images[image] = folder
    return images


def compose_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


def build_standins(engine: Engine, images: Mapping[str, Path], log: Path) -> None:
    """The Debian base, imported once, and every stand-in built on it, tagged with its official name."""
    rootfs = engine.root / "rootfs"
    with log.open("ab") as out:
        debootstrap = subprocess.run(
            ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=DEBOOTSTRAP_TIMEOUT,
            check=False,
        )
    assert debootstrap.returncode == 0, f"debootstrap failed:\n{log.read_text(errors='replace')[-4000:]}"
    # As Docker's Debian images: services never start while packages install, no .deb kept.
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    for package in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        package.unlink()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        ["docker", "import", "-", BASE_IMAGE],
        stdin=tar.stdout,
        env=engine.env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert tar.stdout is not None
    tar.stdout.close()
    assert tar.wait(timeout=60) == 0
    assert imported.returncode == 0, imported.stderr.decode()
    shutil.rmtree(rootfs)
    for image, folder in images.items():
        with log.open("ab") as out:
            built = subprocess.run(
                ["docker", "build", "--tag", image, str(folder)],
                env=engine.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=STANDIN_BUILD_TIMEOUT,
                check=False,
            )
        assert built.returncode == 0, (
            f"the stand-in for {image} did not build:\n{log.read_text(errors='replace')[-4000:]}"
        )
