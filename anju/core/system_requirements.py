"""System packages some tests need, how to tell whether they are here, and how to install them.

`python -m anju.core.system_requirements` prints what is missing and which tests will skip;
the test suite's conftest skips exactly those tests by marker, and refuses to skip under CI."""

import ctypes.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemRequirement:
    marker: str
    what: str
    apt_packages: str

    def missing_reason(self) -> str | None:
        probe = PROBES[self.marker]
        return None if probe() else f"{self.what} is missing (apt-get install {self.apt_packages})"


def chromium_path() -> str | None:
    configured = os.environ.get("ANJU_CHROMIUM")
    if configured and os.access(configured, os.X_OK):
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _has_pango_and_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if not ctypes.util.find_library("pango-1.0") or not fc_list:
        return False
    fonts = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(fonts.stdout.strip()) and shutil.which("pdftotext") is not None


def _redis_answers() -> bool:
    """A Redis server on loopback answers PING (the RQ backend tests use it)."""
    import socket

    url = os.environ.get("ANJU_TEST_REDIS", "127.0.0.1:6379")
    host, _, port = url.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except (OSError, ValueError):
        return False


PROBES = {
    "browser": lambda: chromium_path() is not None,
    "pdf": _has_pango_and_cjk_font,
    "redis": _redis_answers,
}

REQUIREMENTS = [
    SystemRequirement("browser", "Chromium (for the Playwright browser tests)", "chromium"),
    SystemRequirement(
        "pdf",
        "Pango, a CJK font and pdftotext (for the PDF tests)",
        "libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei poppler-utils",
    ),
    SystemRequirement("redis", "A Redis server on 127.0.0.1:6379 (for the RQ task tests)",
                      "redis-server"),
]


def missing_requirements() -> dict[str, str]:
    """marker -> reason, for every requirement this machine lacks."""
    return {req.marker: reason for req in REQUIREMENTS if (reason := req.missing_reason())}


def main() -> int:
    missing = missing_requirements()
    for marker, reason in missing.items():
        print(f"[anju] {reason}: tests marked '{marker}' will be skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
